"""No anonymous writes: a validation sample needs its renter's wallet signature over its
SHA-256 with a fresh nonce, within a per-wallet limit and a total cap; samples no rental
took up are unpinned; nonces are rate-limited per client and expired ones deleted."""

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dao_service.client import rentals
from dao_service.client.core import DaoClient, Endpoints
from dao_service.core.config import Settings
from dao_service.models import StatementNonce, ValidationSample
from dao_service.storage.ipfs import IpfsStore
from tests.api.conftest import running_service
from tests.api.test_earnings import RENTER, SAMPLE, sample_form
from tests.utils.chain import Dao

ALICE = Account.from_key("0x" + "11" * 32)  # signs only


def post_sample(api: TestClient, fields: dict[str, str], files: dict[str, tuple[str, bytes]]):  # type: ignore[no-untyped-def]
    return api.post("/api/rentals/samples", data=fields, files=files)


def test_an_unsigned_or_foreign_signed_sample_is_refused(api: TestClient) -> None:
    fields, files = sample_form(api, RENTER, SAMPLE)
    unsigned = {k: v for k, v in fields.items() if k not in ("signature", "nonce")}
    refused = post_sample(api, unsigned, files)
    assert refused.status_code == 422
    assert {e["loc"][-1] for e in refused.json()["detail"]} == {"nonce", "signature"}

    # Signed by another wallet, claiming to be RENTER's.
    foreign, foreign_files = sample_form(api, ALICE, SAMPLE)
    foreign["renter"] = RENTER.address
    refused = post_sample(api, foreign, foreign_files)
    assert refused.status_code == 403 and "not by the renter" in refused.json()["detail"]

    malformed = {**fields, "signature": "0x" + "00" * 64 + "11"}  # v = 17
    refused = post_sample(api, malformed, files)
    assert refused.status_code == 400 and "malformed" in refused.json()["detail"]

    accepted = post_sample(api, fields, files)
    assert accepted.status_code == 200, accepted.text
    replayed = post_sample(api, fields, files)  # the same nonce again
    assert replayed.status_code == 409 and "already used" in replayed.json()["detail"]


def test_samples_are_limited_per_wallet_and_in_total(
    api: TestClient, service_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_settings, "samples_per_wallet_per_hour", 2)
    for i in range(2):
        assert post_sample(api, *sample_form(api, RENTER, SAMPLE + b"\n%d" % i)).status_code == 200
    limited = post_sample(api, *sample_form(api, RENTER, SAMPLE + b"\nthird"))
    assert limited.status_code == 429 and "2 samples this hour" in limited.json()["detail"]

    monkeypatch.setattr(service_settings, "max_pending_samples", 3)
    assert post_sample(api, *sample_form(api, ALICE, SAMPLE + b"\nthird")).status_code == 200
    full = post_sample(api, *sample_form(api, ALICE, SAMPLE + b"\nfourth"))
    assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
    assert "the most it keeps" in full.json()["detail"]


def test_samples_no_rental_took_up_are_unpinned_after_a_day(
    api: TestClient, dao: Dao, ipfs: IpfsStore
) -> None:
    earnings = api.app.state.earnings  # type: ignore[attr-defined]
    taken = post_sample(api, *sample_form(api, RENTER, SAMPLE)).json()
    left = post_sample(api, *sample_form(api, RENTER, SAMPLE + b"\nnever rented")).json()
    dao.rent(RENTER, 10**18, sample=(bytes.fromhex(taken["sha256"][2:]), taken["size"]))

    assert earnings.sweep_samples() == []  # both younger than a day
    swept = earnings.sweep_samples(now=datetime.now(UTC) + timedelta(days=1, minutes=1))
    assert swept == [left["sha256"]]
    assert not ipfs.pinned(left["cid"]) and ipfs.pinned(taken["cid"])
    with earnings.sessions() as session:
        kept = session.scalars(select(ValidationSample.sha256)).all()
    assert kept == [taken["sha256"]]


def test_nonces_are_limited_per_client_and_expired_ones_deleted(
    api: TestClient, service_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = api.app.state.intake.sessions  # type: ignore[attr-defined]
    with sessions.begin() as session:
        session.add(
            StatementNonce(
                nonce="ab" * 16,
                wallet=RENTER.address,
                expires_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    monkeypatch.setattr(service_settings, "nonces_per_client_per_minute", 3)
    for _ in range(3):
        issued = api.post("/api/contributions/nonce", json={"wallet": RENTER.address})
        assert issued.status_code == 200
    limited = api.post("/api/contributions/nonce", json={"wallet": RENTER.address})
    assert limited.status_code == 429 and "Too many nonces" in limited.json()["detail"]
    with sessions() as session:
        assert session.get(StatementNonce, "ab" * 16) is None  # the expired one is gone
        assert session.scalar(select(func.count()).select_from(StatementNonce)) == 3


def test_the_sample_statement_names_the_sha256(api: TestClient) -> None:
    other = hashlib.sha256(b"another sample").digest()
    fields, files = sample_form(api, RENTER, SAMPLE)
    fields["sha256"] = "0x" + other.hex()  # the signature covers the plaintext's hash
    refused = post_sample(api, fields, files)
    assert refused.status_code == 403 and "not by the renter" in refused.json()["detail"]


def test_the_client_library_signs_the_sample(service_settings: Settings, tmp_path: Path) -> None:
    """What `datadao rent propose --sample` sends: signed, so the service takes it."""
    with running_service() as port:
        client = DaoClient(
            Endpoints(
                rpc_url=service_settings.chain_rpc_url,
                service_url=f"http://127.0.0.1:{port}",
                manifest_path=service_settings.manifest_file,
                ipfs_api_url=service_settings.ipfs_api_url,
                data_dir=tmp_path,
            )
        )
        stored = rentals.submit_sample(client, RENTER, SAMPLE)
    assert stored["sha256"] == "0x" + hashlib.sha256(SAMPLE).hexdigest()
    assert stored["records"] == 3
