"""The issue's attack through the API: a fabricated Reddit export (invented account, word
salad, a checkfile.csv computed by the script), signed by the wallet, is refused by the
platform spot-check; the same upload of a genuine export mints."""

from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.api.conftest import wait_for_stage
from tests.utils.participants import contribute

ALICE = dev_account(2)


def test_fabricated_export_is_rejected_naming_the_platform_check(api: TestClient) -> None:
    fabricated = reddit_export(reddit_spec(seed=23, account="invented_account_2347"))
    receipt = contribute(api, ALICE, fabricated, published=False).json()
    assert receipt["status"] == "rejected" and receipt["score"] == 0
    reasons = " ".join(receipt["report"]["rejection_reasons"])
    assert "platform spot-check failed" in reasons and "Reddit has no such item" in reasons
    assert receipt["report"]["required_checks"] == ["platform spot-check"]


def test_genuine_export_passes_the_platform_check(api: TestClient) -> None:
    receipt = contribute(api, ALICE, reddit_export(reddit_spec(seed=24))).json()
    checks = {c["name"]: c for c in receipt["report"]["authenticity"]}
    assert checks["platform spot-check"]["status"] == "pass", receipt["report"]
    wait_for_stage(api, receipt["id"], "minted")
