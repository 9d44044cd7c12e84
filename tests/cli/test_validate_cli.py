"""`datadao validate` and `datadao code` as a contributor runs them."""

import json
from pathlib import Path

from dao_service.stack.sample_exports import reddit_export, x_archive
from tests.utils.processes import run_cli, unwrapped
from tests.validators.conftest import CHAIN_ID, REGISTRY, WALLET
from validators import verification_code

DEPLOYMENT = ["--chain-id", str(CHAIN_ID), "--registry", REGISTRY]


def test_validate_accepted_export_exits_0_with_a_table(tmp_path: Path) -> None:
    export = tmp_path / "reddit.zip"
    export.write_bytes(reddit_export())
    result = run_cli(
        "validate", str(export), "--wallet", WALLET, *DEPLOYMENT, "--data-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Accepted" in result.stdout and "checksums" in result.stdout


def test_validate_json_for_scripts(tmp_path: Path) -> None:
    export = tmp_path / "x.zip"
    export.write_bytes(x_archive())
    result = run_cli(
        "validate",
        str(export),
        "--wallet",
        WALLET,
        *DEPLOYMENT,
        "--json",
        "--data-dir",
        str(tmp_path),
    )
    report = json.loads(result.stdout)
    assert report["accepted"] is True and report["source"] == "twitter" and report["score"] > 0


def test_validate_rejected_export_exits_1_with_reasons(tmp_path: Path) -> None:
    export = tmp_path / "broken.zip"
    export.write_bytes(reddit_export()[:500])
    result = run_cli(
        "validate", str(export), "--wallet", WALLET, *DEPLOYMENT, "--data-dir", str(tmp_path)
    )
    assert result.returncode == 1
    assert "Rejected" in result.stdout and "zip" in result.stdout


def test_validate_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run_cli("validate", str(tmp_path / "nope.zip"), "--wallet", WALLET, *DEPLOYMENT)
    assert missing.returncode == 2 and "does not exist" in unwrapped(missing.stderr)
    export = tmp_path / "r.zip"
    export.write_bytes(b"x")
    bad_wallet = run_cli("validate", str(export), "--wallet", "0x123", *DEPLOYMENT)
    assert bad_wallet.returncode == 2
    assert "not an Ethereum address" in unwrapped(bad_wallet.stderr)


def test_validate_without_a_stack_or_flags_explains_what_to_give(tmp_path: Path) -> None:
    export = tmp_path / "r.zip"
    export.write_bytes(b"x")
    result = run_cli("validate", str(export), "--wallet", WALLET, "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "--chain-id and --registry" in unwrapped(result.stderr)
    assert "Traceback" not in result.stderr


def test_code_prints_the_verification_code() -> None:
    result = run_cli("code", "--wallet", WALLET, *DEPLOYMENT, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["code"] == verification_code(WALLET, CHAIN_ID, REGISTRY)
