"""`datadao validate` and `datadao code` as a contributor runs them. `validate` runs the
service's checks, the platform spot-check included (against the platform stand-in here)."""

import json
import os
from pathlib import Path
from subprocess import CompletedProcess

from dao_service.cli.validate import service_settings
from dao_service.core.config import Settings
from dao_service.stack.platform_standin import stand_in_env
from dao_service.stack.running import stack_file
from dao_service.stack.sample_exports import reddit_export, reddit_spec, x_archive
from tests.utils.platform_standin import StandIn
from tests.utils.processes import free_port, run_cli, unwrapped
from tests.validators.conftest import CHAIN_ID, REGISTRY, WALLET
from validators import verification_code

DEPLOYMENT = ["--chain-id", str(CHAIN_ID), "--registry", REGISTRY]


def validate(tmp_path: Path, data: bytes, *flags: str, platform_url: str) -> CompletedProcess[str]:
    export = tmp_path / "export.zip"
    export.write_bytes(data)
    return run_cli(
        "validate", str(export), "--wallet", WALLET, *DEPLOYMENT, "--data-dir", str(tmp_path),
        *flags, env=stand_in_env(platform_url),
    )  # fmt: skip


def test_validate_accepted_export_exits_0_with_a_table(tmp_path: Path, platform: StandIn) -> None:
    platform.content.publish_export(reddit_export())
    result = validate(tmp_path, reddit_export(), "--will-sign-in", platform_url=platform.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Accepted" in result.stdout and "checksums" in result.stdout
    assert "did not run" not in result.stdout


def test_validate_json_for_scripts(tmp_path: Path, platform: StandIn) -> None:
    platform.content.publish_export(x_archive())
    result = validate(tmp_path, x_archive(), "--will-sign-in", "--json", platform_url=platform.url)
    report = json.loads(result.stdout)
    assert report["accepted"] is True and report["source"] == "twitter" and report["score"] > 0
    checks = {c["name"]: c["status"] for c in report["authenticity"]}
    assert checks["platform spot-check"] == "pass"  # looked up on X (the stand-in)


def test_validate_fails_a_fabricated_export_as_the_service_does(
    tmp_path: Path, platform: StandIn
) -> None:
    """Issue 22: with the spot-check required, a fabricated export passed `validate`."""
    fabricated = reddit_export(reddit_spec(seed=23, account="invented_account_2347"))
    result = validate(tmp_path, fabricated, "--will-sign-in", platform_url=platform.url)
    assert result.returncode == 1, result.stdout
    text = unwrapped(result.stdout)
    assert "platform spot-check failed" in text and "Reddit has no such item" in text


def test_validate_says_when_the_platform_cannot_be_reached(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = validate(tmp_path, reddit_export(), "--will-sign-in", platform_url=nowhere)
    assert result.returncode == 1, result.stdout  # never a silent pass
    text = unwrapped(result.stdout)
    assert "The platform spot-check did not run" in text and "could not be reached" in text
    assert "this DAO requires it" in text and "Traceback" not in result.stderr


def test_validate_without_proof_refuses_as_the_service_does(
    tmp_path: Path, platform: StandIn
) -> None:
    platform.content.publish_export(reddit_export())
    result = validate(tmp_path, reddit_export(), platform_url=platform.url)
    assert result.returncode == 1, result.stdout
    text = unwrapped(result.stdout)
    assert "nothing proves this reddit account is yours" in text
    assert "sign in with Reddit" in text and "verification code" in text


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


def test_validate_checks_as_a_running_local_stack_does(tmp_path: Path) -> None:
    """With a local stack running for the data directory, `validate` asks its stand-in and
    applies its relaxations (the README's local convenience), as its service does."""
    settings = Settings(data_dir=tmp_path, platform_port=free_port())
    settings.run_dir.mkdir(parents=True)
    stack_file(settings).write_text(
        json.dumps({"supervisor_pid": os.getpid(), "settings": {"platform_port": 8123}})
    )
    checked = service_settings(settings)
    assert checked.reddit_api_url == "http://127.0.0.1:8123"
    assert not checked.require_platform_check and not checked.require_ownership_proof
    assert service_settings(Settings(data_dir=tmp_path / "none")).require_ownership_proof
