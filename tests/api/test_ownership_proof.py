"""The issue's attack through the API: a fabricated Reddit export (invented account, word
salad, a checkfile.csv computed by the script), signed by the wallet, is refused by the
platform spot-check; the same upload of a genuine export mints. And account squatting
(issue 22): a stranger's upload of someone's public export, without the owner's proof."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings, get_settings
from dao_service.intake.ownership import proven_in
from dao_service.keys.release import LIVE_KEYS
from dao_service.main import create_app
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.api.conftest import sign_in, wait_for_stage
from tests.utils.participants import contribute
from validators import DedupIndex
from validators.dedup import Binding

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


# Issue 22, account squatting: a stranger's wallet uploaded another person's Reddit export
# (its items are public), with no code and no sign-in, and the account was bound to it.
MALLORY = dev_account(4)


@pytest.fixture
def production_api(
    service_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service as production runs it: a binding needs the account holder's proof."""
    monkeypatch.setenv("DATADAO_REQUIRE_OWNERSHIP_PROOF", "true")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


def bound(api: TestClient, account: str) -> Binding | None:
    index: DedupIndex = api.app.state.intake.index  # type: ignore[attr-defined]
    return index.binding("reddit", account)


def test_a_stranger_without_proof_is_refused_and_nothing_is_bound(
    production_api: TestClient,
) -> None:
    victims = reddit_export(reddit_spec(seed=31, account="victim_31"))
    squat = contribute(production_api, MALLORY, victims).json()
    assert squat["status"] == "rejected" and squat["score"] == 0 and squat["tx_hash"] is None
    reasons = " ".join(squat["rejection_reasons"])
    assert "nothing proves this reddit account is yours" in reasons
    assert "sign in with Reddit as the account" in reasons and "verification code" in reasons
    assert "victim_31" not in str(squat)  # the receipt names no platform account
    assert bound(production_api, "victim_31") is None

    # The owner, signed in with the platform, is not refused: the account is theirs.
    issued = sign_in(production_api, "reddit", ALICE, "victim_31")
    owned = contribute(production_api, ALICE, victims, fields={"sign_in": issued}).json()
    assert owned["accepted"], owned["rejection_reasons"]
    wait_for_stage(production_api, owned["id"], "minted")
    assert bound(production_api, "victim_31") == Binding(ALICE.address, proven=True)


def test_the_owner_signing_in_takes_an_unproven_binding_back(api: TestClient) -> None:
    """The local profile's unproven binding (or one made before proof was required)."""
    squat = contribute(api, MALLORY, reddit_export(reddit_spec(seed=32, account="victim_32")))
    squatted = squat.json()
    assert squatted["accepted"], squatted["rejection_reasons"]
    binding = {c["name"]: c for c in squatted["report"]["ownership"]}["account binding"]
    assert "without proof" in binding["reason"]
    wait_for_stage(api, squatted["id"], "minted")
    assert bound(api, "victim_32") == Binding(MALLORY.address, proven=False)

    issued = sign_in(api, "reddit", ALICE, "victim_32")
    newer = reddit_export(reddit_spec(seed=33, account="victim_32"))
    owned = contribute(api, ALICE, newer, fields={"sign_in": issued}).json()
    assert owned["accepted"], owned["rejection_reasons"]
    moved = {c["name"]: c for c in owned["report"]["ownership"]}["account binding"]
    assert "moves to" in moved["reason"] and MALLORY.address not in str(owned)
    wait_for_stage(api, owned["id"], "minted")
    assert bound(api, "victim_32") == Binding(ALICE.address, proven=True)

    # The stranger's contribution: withdrawn from rentals (no key released, not valued)...
    assert api.get(f"/api/contributions/{squatted['id']}").json()["disowned"] is True
    sessions = api.app.state.intake.sessions  # type: ignore[attr-defined]
    with sessions() as session:
        released = session.execute(LIVE_KEYS, {"dataset_id": 1, "after": 0, "rows": 100}).all()
    assert {row.public_id for row in released} == {owned["id"]}
    # ... and listed for a DAO proposal to void it, still live on-chain until then.
    (listed,) = api.get("/api/ownership/disowned").json()
    assert listed["id"] == squatted["id"] and listed["contributor"] == MALLORY.address
    assert listed["live_on_chain"] is True
    assert f"ContributionRegistry.voidContribution:{listed['fingerprint']}" in listed["proposal"]
    assert "victim_32" not in str(listed)  # names no platform account
    # What `datadao index rebuild` binds again: the owner's, by proof; not the stranger's.
    assert proven_in(owned["report"]) and not proven_in(squatted["report"])
    # The stranger cannot bind it again.
    again = contribute(api, MALLORY, reddit_export(reddit_spec(seed=34, account="victim_32")))
    assert again.json()["status"] == "rejected"
