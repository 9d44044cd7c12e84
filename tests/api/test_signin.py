"""Sign-in with the platform (OAuth 2.0 through Authlib, against the stand-in's
authorization server): the signed-in account binds the export's; a mismatch is refused.
The pass names a wallet only by that wallet's signature over the service's request."""

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.stack.sample_exports import reddit_export, x_archive
from tests.api.conftest import sign_in, sign_in_start, wait_for_stage
from tests.utils.participants import contribute, publish
from tests.utils.platform_standin import approve_on_stand_in

ALICE, BOB = dev_account(2), dev_account(3)


def checks(receipt: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in receipt["report"]["ownership"]}


def test_reddit_sign_in_binds_the_export_account(api: TestClient) -> None:
    issued = sign_in(api, "reddit", ALICE, "alice_redditor")
    shown = api.get("/api/signin/pass/read", params={"value": issued}).json()
    assert shown["account_name"] == "alice_redditor" and shown["wallet"] == ALICE.address
    receipt = contribute(api, ALICE, reddit_export(), fields={"sign_in": issued}).json()
    assert receipt["accepted"], receipt["rejection_reasons"]
    signed = checks(receipt)["platform sign-in"]
    # The platform confirmed the account; the stored receipt does not name it.
    assert signed["status"] == "pass" and signed["reason"] == "signed in with reddit as the account"
    assert "alice_redditor" not in str(receipt)
    assert receipt["report"]["ownership_score"] == 1.0
    wait_for_stage(api, receipt["id"], "minted")


def test_signed_in_as_another_account_is_refused(api: TestClient) -> None:
    issued = sign_in(api, "reddit", ALICE, "mallory")
    receipt = contribute(api, ALICE, reddit_export(), fields={"sign_in": issued}).json()
    assert receipt["status"] == "rejected"
    reason = checks(receipt)["platform sign-in"]["reason"]
    assert reason == "signed in as another account, but the export is the account's"
    assert "mallory" not in str(receipt)  # the receipt is kept: it names no platform account
    assert any("ownership: signed in as another account" in r for r in receipt["rejection_reasons"])


def test_a_pass_is_the_wallets_own_and_cannot_be_forged(api: TestClient) -> None:
    issued = sign_in(api, "reddit", ALICE, "alice_redditor")
    stolen = contribute(api, BOB, reddit_export(), fields={"sign_in": issued})
    assert stolen.status_code == 403 and "issued to another wallet" in stolen.json()["detail"]
    body, _, _tag = issued.partition(".")
    forged = contribute(api, ALICE, reddit_export(), fields={"sign_in": f"{body}.{'0' * 32}"})
    assert forged.status_code == 403 and "not issued by this service" in forged.json()["detail"]


def test_x_sign_in_with_pkce_binds_the_archive_account(api: TestClient) -> None:
    archive = x_archive()
    publish(archive)  # the account and its tweets are on X (the stand-in) already
    issued = sign_in(api, "x", ALICE, "alice_x")
    assert api.get("/api/signin/pass/read", params={"value": issued}).json()["account_id"] == (
        "1234567890"  # what X's /2/users/me answered: the archive's account id
    )
    receipt = contribute(api, ALICE, archive, fields={"sign_in": issued}).json()
    assert receipt["accepted"], receipt["rejection_reasons"]
    assert checks(receipt)["platform sign-in"]["status"] == "pass"


def test_platform_refusing_or_tampered_state_is_a_clear_refusal(api: TestClient) -> None:
    denied = api.get("/api/signin/reddit/callback", params={"error": "access_denied"})
    assert denied.status_code == 403 and "access_denied" in denied.json()["detail"]
    start = sign_in_start(api, "reddit", ALICE)
    callback = urlsplit(approve_on_stand_in(start.headers["location"], "alice_redditor"))
    query = callback.query.replace("state=", "state=x")
    tampered = api.get(f"{callback.path}?{query}")
    assert tampered.status_code == 403 and "state does not match" in tampered.json()["detail"]


def test_a_pass_names_only_the_wallet_that_signed_for_it(api: TestClient) -> None:
    """Issue 22: the sign-in pass named any wallet it was given, without proof."""
    unsigned = api.get("/api/signin/reddit", params={"wallet": ALICE.address},
                       follow_redirects=False)  # fmt: skip
    assert unsigned.status_code == 403 and "only with its signature" in unsigned.json()["detail"]
    # Mallory asks for a pass naming Alice's wallet, signing with his own key: refused,
    # before any platform sign-in (no pass is issued).
    forged = sign_in_start(api, "reddit", ALICE, signer=BOB)
    assert forged.status_code == 403
    assert f"signed by {BOB.address}, not by {ALICE.address}" in forged.json()["detail"]
    # Alice's signed request cannot be stretched: another expiry is not the service's nonce.
    stretched = sign_in_start(api, "reddit", ALICE, expires=2**40)
    assert (
        stretched.status_code == 403 and "not issued by this service" in stretched.json()["detail"]
    )
    garbled = sign_in_start(api, "reddit", ALICE, signature="0x" + "11" * 65).json()["detail"]
    assert "signature is malformed" in garbled or f"not by {ALICE.address}" in garbled
    # Signed by Alice, the pass names Alice; Bob presenting it is refused.
    issued = sign_in(api, "reddit", ALICE, "alice_redditor")
    assert api.get("/api/signin/pass/read", params={"value": issued}).json()["wallet"] == (
        ALICE.address
    )
    stolen = contribute(api, BOB, reddit_export(), fields={"sign_in": issued})
    assert stolen.status_code == 403 and "issued to another wallet" in stolen.json()["detail"]
