"""The command line's contract with scripts: help that teaches, exit codes to trust."""

from pathlib import Path

from tests.utils.processes import run_cli, unwrapped


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


def test_verbose_works_after_the_subcommand_and_shows_the_traceback(tmp_path: Path) -> None:
    quiet = run_cli("proposals", "--data-dir", str(tmp_path))
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert "No deployment manifest" in unwrapped(quiet.stderr)
    verbose = run_cli("proposals", "--data-dir", str(tmp_path), "-v")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_help_names_every_command_group() -> None:
    result = run_cli("--help")
    for command in (
        "contribute",
        "balance",
        "proposals",
        "vote",
        "rent",
        "data",
        "claim",
        "withdraw",
        "history",
        "account",
        "chain",
        "demo",
    ):
        assert command in result.stdout


def test_usage_errors_exit_2_with_a_sentence(tmp_path: Path) -> None:
    bad_support = run_cli("vote", "1", "maybe", "--account", "test2", "--data-dir", str(tmp_path))
    assert bad_support.returncode == 2 and "vote for, against or abstain" in unwrapped(
        bad_support.stderr
    )
    bad_price = run_cli("rent", "propose", "--days", "1", "--price", "lots", "--account", "test5")
    assert bad_price.returncode == 2 and "is not an amount of ETH" in unwrapped(bad_price.stderr)
    bad_time = run_cli("chain", "advance", "--time", "soon")
    assert bad_time.returncode == 2 and "give a time like" in unwrapped(bad_time.stderr)
