"""Sign-in with the platform (OAuth 2.0 through Authlib, against the stand-in's
authorization server): the signed-in account binds the export's; a mismatch is refused."""

from urllib.parse import unquote, urlsplit

from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.stack.sample_exports import reddit_export, x_archive
from tests.api.conftest import wait_for_stage
from tests.utils.participants import contribute, publish
from tests.utils.platform_standin import approve_on_stand_in

ALICE, BOB = dev_account(2), dev_account(3)


def sign_in(api: TestClient, platform: str, wallet: str, account: str) -> str:
    """The whole browser round trip; the sign-in pass the form receives."""
    start = api.get(
        f"/api/signin/{platform}",
        params={"wallet": wallet, "return_to": "/"},
        follow_redirects=False,
    )
    assert start.status_code == 302, start.text
    callback = urlsplit(approve_on_stand_in(start.headers["location"], account))
    back = api.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert back.status_code == 302, back.text
    location = back.headers["location"]
    assert location.startswith("/#signin=")
    return unquote(location.removeprefix("/#signin="))


def checks(receipt: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in receipt["report"]["ownership"]}


def test_reddit_sign_in_binds_the_export_account(api: TestClient) -> None:
    issued = sign_in(api, "reddit", ALICE.address, "alice_redditor")
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
    issued = sign_in(api, "reddit", ALICE.address, "mallory")
    receipt = contribute(api, ALICE, reddit_export(), fields={"sign_in": issued}).json()
    assert receipt["status"] == "rejected"
    reason = checks(receipt)["platform sign-in"]["reason"]
    assert reason == "signed in as another account, but the export is the account's"
    assert "mallory" not in str(receipt)  # the receipt is kept: it names no platform account
    assert any("ownership: signed in as another account" in r for r in receipt["rejection_reasons"])


def test_a_pass_is_the_wallets_own_and_cannot_be_forged(api: TestClient) -> None:
    issued = sign_in(api, "reddit", ALICE.address, "alice_redditor")
    stolen = contribute(api, BOB, reddit_export(), fields={"sign_in": issued})
    assert stolen.status_code == 403 and "issued to another wallet" in stolen.json()["detail"]
    body, _, _tag = issued.partition(".")
    forged = contribute(api, ALICE, reddit_export(), fields={"sign_in": f"{body}.{'0' * 32}"})
    assert forged.status_code == 403 and "not issued by this service" in forged.json()["detail"]


def test_x_sign_in_with_pkce_binds_the_archive_account(api: TestClient) -> None:
    archive = x_archive()
    publish(archive)  # the account and its tweets are on X (the stand-in) already
    issued = sign_in(api, "x", ALICE.address, "alice_x")
    assert api.get("/api/signin/pass/read", params={"value": issued}).json()["account_id"] == (
        "1234567890"  # what X's /2/users/me answered: the archive's account id
    )
    receipt = contribute(api, ALICE, archive, fields={"sign_in": issued}).json()
    assert receipt["accepted"], receipt["rejection_reasons"]
    assert checks(receipt)["platform sign-in"]["status"] == "pass"


def test_platform_refusing_or_tampered_state_is_a_clear_refusal(api: TestClient) -> None:
    denied = api.get("/api/signin/reddit/callback", params={"error": "access_denied"})
    assert denied.status_code == 403 and "access_denied" in denied.json()["detail"]
    start = api.get("/api/signin/reddit", params={"wallet": ALICE.address}, follow_redirects=False)
    callback = urlsplit(approve_on_stand_in(start.headers["location"], "alice_redditor"))
    query = callback.query.replace("state=", "state=x")
    tampered = api.get(f"{callback.path}?{query}")
    assert tampered.status_code == 403 and "state does not match" in tampered.json()["detail"]
