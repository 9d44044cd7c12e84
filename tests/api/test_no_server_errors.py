"""Inputs that were answered with a 500 are now refused with a 4xx naming what was wrong,
and a database that stays locked is a 503 with Retry-After."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from dao_service.chain.attestations import sign_withdrawal
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.provider import RELAYER_INDEX
from dao_service.core.config import Settings
from dao_service.stack.sample_exports import reddit_export
from dao_service.storage.database import session_factory
from dao_service.storage.rate_limits import RateLimiter
from tests.api.conftest import wait_for_stage
from tests.utils.chain import Dao
from tests.utils.participants import contribute

ALICE = dev_account(2)
HUGE = 2**70


def test_a_non_ascii_sign_in_pass_is_refused(api: TestClient) -> None:
    read = api.get("/api/signin/pass/read", params={"value": "ünïcödé.täg"})
    assert read.status_code == 403 and "garbled" in read.json()["detail"]
    upload = contribute(api, ALICE, reddit_export(), fields={"sign_in": "pässé.tag"})
    assert upload.status_code == 403 and "garbled" in upload.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", f"/api/rentals/{HUGE}/settle"), ("get", f"/api/earnings/{HUGE}")],
)
def test_ids_past_what_the_database_holds_are_refused(
    api: TestClient, method: str, path: str
) -> None:
    response = getattr(api, method)(path)
    assert response.status_code == 422, response.text
    assert "less than" in response.json()["detail"][0]["msg"]


def minted(api: TestClient) -> tuple[str, bytes]:
    receipt = wait_for_stage(api, contribute(api, ALICE, reddit_export()).json()["id"], "minted")
    return receipt["id"], bytes.fromhex(receipt["attestation"]["fingerprint"][2:])


def test_bad_withdrawals_are_refused_and_cost_no_gas(api: TestClient, dao: Dao) -> None:
    public_id, fingerprint = minted(api)
    relayer = dev_account(RELAYER_INDEX).address
    sent_before = dao.w3.eth.get_transaction_count(relayer)
    url = f"/api/contributions/{public_id}/withdraw"

    signed = sign_withdrawal(
        ALICE, fingerprint, dao.now() + 600, dao.chain_id, dao.registry.address
    )
    v17 = signed[:64] + bytes([17])
    malformed = api.post(url, json={"deadline": dao.now() + 600, "signature": "0x" + v17.hex()})
    assert malformed.status_code == 400 and "malformed" in malformed.json()["detail"]

    too_far = api.post(url, json={"deadline": 2**256, "signature": "0x" + signed.hex()})
    assert too_far.status_code == 422

    # Signed with a deadline the latest block already reached: an estimate against that
    # block passes, the transaction (in a later block) would revert.
    deadline = dao.now()
    signed = sign_withdrawal(ALICE, fingerprint, deadline, dao.chain_id, dao.registry.address)
    expired = api.post(url, json={"deadline": deadline, "signature": "0x" + signed.hex()})
    assert expired.status_code == 409, expired.text
    assert "RegistryWithdrawalExpired" in expired.json()["detail"]
    assert dao.w3.eth.get_transaction_count(relayer) == sent_before  # nothing was sent

    # Good when asked, passed in the block it would land in (the clock moved on): the
    # simulation in that block refuses it before any gas is spent.
    deadline = dao.now() + 5
    signed = sign_withdrawal(ALICE, fingerprint, deadline, dao.chain_id, dao.registry.address)
    dao.w3.provider.make_request("evm_setNextBlockTimestamp", [deadline + 60])  # type: ignore[arg-type]
    late = api.post(url, json={"deadline": deadline, "signature": "0x" + signed.hex()})
    assert late.status_code == 409, late.text
    assert "RegistryWithdrawalExpired" in late.json()["detail"]
    assert dao.w3.eth.get_transaction_count(relayer) == sent_before


@contextmanager
def write_locked(database: str) -> Iterator[None]:
    """Another connection holds the SQLite file's write lock."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def quick_sessions(database: str):  # type: ignore[no-untyped-def]
    """Sessions that wait 10 ms for a lock (the service's wait 30 s)."""
    return session_factory(create_engine(f"sqlite:///{database}", connect_args={"timeout": 0.01}))


def test_a_locked_rate_count_is_retried_then_a_503_with_retry_after(
    api: TestClient, service_settings: Settings
) -> None:
    database = str(service_settings.data_dir / "datadao.sqlite3")
    limits: RateLimiter = api.app.state.intake.limits  # type: ignore[attr-defined]
    limits.sessions = quick_sessions(database)
    with write_locked(database):  # the nonce's rate-limit count cannot be written
        response = api.post("/api/contributions/nonce", json={"wallet": ALICE.address})
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert "database is busy" in response.json()["detail"]
    assert limits.allow("after", 1, 60)  # the lock released, counting goes on


def test_any_other_locked_write_is_a_503_with_retry_after(
    api: TestClient, service_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = str(service_settings.data_dir / "datadao.sqlite3")
    intake = api.app.state.intake  # type: ignore[attr-defined]
    monkeypatch.setattr(intake.limits, "allow", lambda *_: True)  # past the rate limit
    monkeypatch.setattr(intake, "sessions", quick_sessions(database))
    with write_locked(database):  # the nonce's own row cannot be written
        response = api.post("/api/contributions/nonce", json={"wallet": ALICE.address})
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
