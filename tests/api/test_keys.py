"""Key release refusals: each gets a 403 with its reason, and every outcome is audited."""

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from dao_service.chain.challenges import challenge_text
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.fetch import sign_challenge
from dao_service.core.config import Settings
from dao_service.models import AuditEvent
from dao_service.stack.sample_exports import reddit_export
from tests.api.conftest import wait_for_stage
from tests.utils.chain import Dao
from tests.utils.participants import contribute, request_keys

ALICE, RENTER, OTHER = dev_account(2), dev_account(5), dev_account(6)


def refusal(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text
    return str(response.json()["detail"])


def minted(api: TestClient) -> None:
    wait_for_stage(api, contribute(api, ALICE, reddit_export()).json()["id"], "minted")


def test_no_grant(api: TestClient) -> None:
    minted(api)
    assert refusal(request_keys(api, RENTER)) == "no access grant for dataset 1"


def test_expired_grant(api: TestClient, dao: Dao) -> None:
    minted(api)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 60))
    assert request_keys(api, RENTER).status_code == 200
    dao.advance_time(120)
    assert "the access grant for dataset 1 expired at" in refusal(request_keys(api, RENTER))


def test_revoked_grant(api: TestClient, dao: Dao) -> None:
    minted(api)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    dao.as_timelock(dao.access.functions.revokeAccess(RENTER.address, 1))
    assert refusal(request_keys(api, RENTER)) == "the access grant for dataset 1 was revoked"


def test_reused_challenge(api: TestClient, dao: Dao) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    assert refusal(request_keys(api, RENTER, replay=True)) == "the challenge was already used"


def test_expired_challenge(api: TestClient, dao: Dao, service_settings: Settings) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    service_settings.challenge_ttl_seconds = -1  # issued already expired
    assert "the challenge has expired" in refusal(request_keys(api, RENTER))


def composed(
    dao: Dao, account: Any, expires_at: int, nonce: str = "ab" * 16, **other: Any
) -> dict[str, Any]:
    """A release request the renter writes itself, without asking for a challenge."""
    registry = other.get("access_registry", dao.access.address)
    text = challenge_text(account.address, 1, 31337, registry, nonce, expires_at)
    return {
        "address": account.address,
        "nonce": nonce,
        "expires_at": expires_at,
        "dataset_id": 1,
        "chain_id": 31337,
        "signature": sign_challenge(account, text),
    }


def test_a_request_the_renter_composes_is_released_once(api: TestClient, dao: Dao) -> None:
    minted(api)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    body = composed(dao, RENTER, int(time.time()) + 60)
    released = api.post("/api/keys/release", json=body)
    assert released.status_code == 200 and len(released.json()["keys"]) == 1
    assert refusal(api.post("/api/keys/release", json=body)) == "the challenge was already used"


def test_a_request_valid_for_longer_than_a_challenge_is_refused(
    api: TestClient, dao: Dao, service_settings: Settings
) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    far = int(time.time()) + service_settings.challenge_ttl_seconds + 3600
    assert "the challenge expires too late" in refusal(
        api.post("/api/keys/release", json=composed(dao, RENTER, far))
    )


def test_a_request_signed_for_another_deployment_is_refused(api: TestClient, dao: Dao) -> None:
    """The text names this DAO's AccessRegistry: a request signed for another DAO's service
    on the same chain (phished, or sent there) releases nothing here."""
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    elsewhere = composed(dao, RENTER, int(time.time()) + 60, access_registry="0x" + "bb" * 20)
    assert "the challenge is signed by" in refusal(api.post("/api/keys/release", json=elsewhere))


def test_a_client_refused_too_often_is_held_off(
    api: TestClient, service_settings: Settings
) -> None:
    """Each refusal may cost a chain lookup and anyone can sign with a new wallet."""
    service_settings.key_refusals_per_client_per_minute = 3
    for _ in range(4):  # no grant: refused, the fourth over the limit
        assert refusal(request_keys(api, RENTER)) == "no access grant for dataset 1"
    held_off = request_keys(api, RENTER)
    assert held_off.status_code == 429 and "try again in a minute" in held_off.json()["detail"]


def test_signature_of_another_address(api: TestClient, dao: Dao) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(OTHER.address, 1, 3600))
    detail = refusal(
        request_keys(api, RENTER, signer=OTHER)
    )  # OTHER is granted, but signs RENTER's challenge
    assert detail == f"the challenge is signed by {OTHER.address}, not by {RENTER.address}"


def test_wrong_chain(api: TestClient, dao: Dao) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    assert "wrong chain: signed for chain 1, this DAO is on chain 31337" in refusal(
        request_keys(api, RENTER, chain_id=1)
    )


def test_every_release_and_refusal_is_audited(api: TestClient, dao: Dao) -> None:
    minted(api)
    request_keys(api, RENTER)  # refused: no grant
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    request_keys(api, RENTER)  # released
    with api.app.state.intake.sessions() as session:  # type: ignore[attr-defined]
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.outcome) for e in events] == [
        ("key_release", "refused"),
        ("key_release", "released"),
    ]
    assert "no access grant" in events[0].detail
    assert events[1].address == RENTER.address and events[1].detail.startswith("1 keys")
