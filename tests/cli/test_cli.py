"""The command line's contract with scripts: help that teaches, exit codes to trust."""

from pathlib import Path

from tests.utils.processes import run_cli


def test_help_lists_the_stack_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("up", "status", "down"):
        assert command in result.stdout


def test_unknown_option_is_a_usage_error_with_exit_code_2(tmp_path: Path) -> None:
    result = run_cli("status", "--no-such-flag")
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_status_of_a_stopped_stack_exits_1_and_names_each_part(tmp_path: Path) -> None:
    result = run_cli("status", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    for part in ("chain", "ipfs", "contracts", "service"):
        assert part in result.stdout
    assert "No deployment manifest" in result.stdout
