"""scripts/dev's install steps: each says what it does and roughly how long it takes, says
it is still going, and keeps pip's configuration noise out of sight but real errors in."""

import subprocess
from pathlib import Path

DEV = Path(__file__).resolve().parents[2] / "scripts" / "dev"
NOISE = "WARNING: Location 'file:///opt/pypi/simple/hexbytes/' is ignored: it is neither a file"


def run_step(*command: str) -> subprocess.CompletedProcess[str]:
    """`run_step` of scripts/dev (sourced: it defines and does nothing else) on `command`."""
    script = f'source "{DEV}"; HEARTBEAT=1; run_step "Installing fakes" "~2 s" "$@"'
    return subprocess.run(
        ["bash", "-c", script, "bash", *command], capture_output=True, text=True, timeout=60
    )


def test_a_step_says_what_and_how_long_and_that_it_is_still_going() -> None:
    done = run_step("bash", "-c", f'echo "{NOISE}"; echo "Collecting fakelib"; sleep 2.5')
    assert done.returncode == 0, done.stderr
    assert "==> Installing fakes (usually ~2 s)" in done.stderr
    assert "s so far: Collecting fakelib" in done.stderr  # a heartbeat, at pip's package
    assert "done in 0m0" in done.stderr
    assert "WARNING: Location" not in done.stderr + done.stdout


def test_a_failed_step_shows_its_errors_without_the_noise() -> None:
    failed = run_step(
        "bash", "-c", f'echo "{NOISE}"; echo "ERROR: No matching distribution" >&2; exit 3'
    )
    assert failed.returncode == 3
    assert "error: Installing fakes failed (exit 3)" in failed.stderr
    assert "ERROR: No matching distribution" in failed.stderr
    assert "WARNING: Location" not in failed.stderr + failed.stdout
