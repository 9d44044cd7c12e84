"""Each intake stage alone, against a real database and fakes for the chain and IPFS."""

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import statement_typed_data
from dao_service.client.contribute import sign_typed
from dao_service.core.config import Settings
from dao_service.exceptions import ChainRefused, IntakeRefused
from dao_service.intake import Upload
from dao_service.intake.limits import check_upload_limits
from dao_service.intake.minting import mint, mint_batch
from dao_service.intake.receipt import receipt_extras
from dao_service.intake.records import ALREADY_IN_DATASET, Spool, persist
from dao_service.intake.statement import check_nonce, check_signature, new_nonce
from dao_service.intake.storing import store
from dao_service.intake.worker import IntakeWorker
from dao_service.models import Stage, StatementNonce
from dao_service.storage.rate_limits import RateLimiter
from tests.intake.conftest import FakeChain, FakeIpfs, add_contribution, new_contribution, reload
from validators import DedupIndex, IndexConflict, NewRecords, Validation, ValidationReport
from validators.fingerprints import BANDS
from validators.refine import SCHEMA_ID

REGISTRY = "0x" + "42" * 20
ALICE = Account.from_key(b"\x11" * 32)
MALLORY = Account.from_key(b"\x22" * 32)


def signed_upload(signer: object = ALICE, nonce: str = "n1", client: str = "c") -> Upload:
    digest = hashlib.sha256(b"export").digest()
    typed = statement_typed_data(
        ALICE.address, digest, "reddit", nonce, 31337, REGISTRY, schema=SCHEMA_ID
    )
    signature = sign_typed(signer, typed)  # type: ignore[arg-type]
    return Upload(
        contributor=ALICE.address,
        sha256=digest,
        source="reddit",
        nonce=nonce,
        signature=bytes.fromhex(signature.removeprefix("0x")),
        wrapped_key=b"",
        iv=b"",
        ciphertext=b"x" * 10,
        client=client,
    )


def test_rate_limits_count_per_wallet_and_refuse_past_the_limit(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        uploads_per_wallet_per_hour=2,
        max_upload_bytes=100,
        require_ownership_proof=False,
    )
    one, other = RateLimiter(sessions), RateLimiter(sessions)  # as two processes
    check_upload_limits(settings, one, signed_upload(client="a"))
    check_upload_limits(settings, other, signed_upload(client="b"))
    with pytest.raises(IntakeRefused, match="Too many uploads from this wallet") as refused:
        check_upload_limits(settings, one, signed_upload(client="c"))
    assert refused.value.status == 429
    too_big = Upload(**{**signed_upload().__dict__, "ciphertext": b"x" * 117})
    with pytest.raises(IntakeRefused, match="exceeds 100 bytes") as refused:
        check_upload_limits(settings, one, too_big)
    assert refused.value.status == 413


def test_a_rate_window_ends_and_old_windows_are_deleted(sessions: sessionmaker[Session]) -> None:
    from sqlalchemy import func, select

    from dao_service.models import RateCount

    limiter = RateLimiter(sessions)
    window = 2.0
    time.sleep(window - time.time() % window)  # both calls early in one window
    assert limiter.allow("k", 1, window) and not limiter.allow("k", 1, window)
    time.sleep(window - time.time() % window + 0.05)
    assert limiter.allow("k", 1, window)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RateCount)) == 1


def test_statement_signed_by_another_wallet_is_refused() -> None:
    check_signature(signed_upload(), 31337, REGISTRY)
    with pytest.raises(IntakeRefused, match="not by the contributor") as refused:
        check_signature(signed_upload(signer=MALLORY), 31337, REGISTRY)
    assert refused.value.status == 403
    with pytest.raises(IntakeRefused, match="signed by"):  # another deployment's statement
        check_signature(signed_upload(), 31337, "0x" + "43" * 20)


def test_nonce_must_be_issued_to_the_wallet_unused_and_fresh(
    sessions: sessionmaker[Session],
) -> None:
    issued = new_nonce(ALICE.address)
    stale = StatementNonce(
        nonce="old", wallet=ALICE.address, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    with sessions.begin() as session:
        session.add_all([issued, stale])
    with sessions() as session:
        check_nonce(session, signed_upload(nonce=issued.nonce))
        with pytest.raises(IntakeRefused, match="not issued to this wallet"):
            check_nonce(session, signed_upload(nonce="never-issued"))
        with pytest.raises(IntakeRefused, match="expired"):
            check_nonce(session, signed_upload(nonce="old"))
    with sessions.begin() as session:
        session.get(StatementNonce, issued.nonce).used = True  # type: ignore[union-attr]
    with sessions() as session, pytest.raises(IntakeRefused, match="already used"):
        check_nonce(session, signed_upload(nonce=issued.nonce))


def test_store_pins_the_spooled_ciphertext_and_frees_the_spool(
    sessions: sessionmaker[Session], spool: Spool
) -> None:
    row = add_contribution(sessions)
    spool.write(row.public_id, b"ciphertext")
    ipfs = FakeIpfs()
    store(sessions, spool, ipfs, row)
    stored = reload(sessions, row)
    assert stored.stage == Stage.STORED and ipfs.blobs[stored.cid or ""] == b"ciphertext"
    assert not spool.path(row.public_id).exists()


def test_mint_records_once_and_a_rerun_after_a_crash_does_not_send_again(
    sessions: sessionmaker[Session],
) -> None:
    chain = FakeChain()
    row = add_contribution(sessions, Stage.STORED, cid="bafkfirst")
    mint(sessions, chain, 3600, row)
    minted = reload(sessions, row)
    assert minted.stage == Stage.MINTED and len(chain.sent) == 1
    assert minted.attestation_deadline == chain.time + 3600
    assert receipt_extras(minted)["attestation"]["cid"] == "bafkfirst"
    # A crash between the chain's confirmation and the row's update: the row says stored.
    again = add_contribution(sessions, Stage.STORED, cid="bafkfirst")
    fingerprint = bytes.fromhex((again.fingerprint or "")[2:])
    chain.recorded[fingerprint] = (again.contributor, "0x" + "ab" * 32)
    mint(sessions, chain, 3600, again)
    assert len(chain.sent) == 1  # not sent twice
    assert reload(sessions, again).tx_hash == "0x" + "ab" * 32


def test_mint_refuses_a_fingerprint_recorded_for_someone_else(
    sessions: sessionmaker[Session],
) -> None:
    chain = FakeChain()
    row = add_contribution(sessions, Stage.STORED, cid="bafk")
    chain.recorded[bytes.fromhex((row.fingerprint or "")[2:])] = ("0x" + "99" * 20, "0x")
    with pytest.raises(ChainRefused, match="another contributor"):
        mint(sessions, chain, 3600, row)
    assert reload(sessions, row).stage == Stage.STORED


def test_worker_notes_ipfs_down_on_the_receipt_then_finishes_when_it_is_back(
    sessions: sessionmaker[Session], spool: Spool
) -> None:
    ipfs, chain = FakeIpfs(), FakeChain()
    worker = IntakeWorker(
        sessions,
        store=lambda c: store(sessions, spool, ipfs, c),
        mint=lambda cs: mint_batch(sessions, chain, 3600, cs),
    )
    row = add_contribution(sessions)
    spool.write(row.public_id, b"ciphertext")
    ipfs.down = True
    with pytest.raises(ConnectionError):
        worker.process_pending()
    waiting = reload(sessions, row)
    assert waiting.stage == Stage.VALIDATED
    assert (waiting.last_error or "").startswith("waiting to retry: ConnectionError")
    ipfs.down = False
    assert worker.process_pending()
    done = reload(sessions, row)
    assert done.stage == Stage.MINTED and done.last_error is None and len(chain.sent) == 1
    assert not worker.process_pending()  # nothing left


def test_receipt_has_no_attestation_before_one_is_signed(sessions: sessionmaker[Session]) -> None:
    assert receipt_extras(add_contribution(sessions)) == {}


def accepted(records: NewRecords, counted: list[bool]) -> Validation:
    return Validation(ValidationReport(accepted=True), records, None, np.array(counted, bool))


def test_persist_commits_the_row_and_its_records_together_or_neither(
    sessions: sessionmaker[Session], spool: Spool
) -> None:
    index = DedupIndex(sessions.kw["bind"])
    record = NewRecords(np.full((1, 16), 7, np.uint8), np.arange(BANDS, dtype=np.int64)[None])
    first, rival = new_contribution(sessions), new_contribution(sessions)
    # Both validated against the empty index; the first commits.
    persist(sessions, spool, first, b"one", index=index, validation=accepted(record, [True]))
    assert reload(sessions, first).stage == Stage.VALIDATED and spool.read(first.public_id)
    assert index.known_fingerprints(record.fingerprints).all()
    with pytest.raises(IndexConflict):  # counted the same record as new: refused
        persist(sessions, spool, rival, b"two", index=index, validation=accepted(record, [True]))
    with sessions() as session:
        assert session.get(type(rival), rival.id) is None  # no row
        assert not session.get(StatementNonce, rival.statement_nonce).used  # type: ignore[union-attr]
    assert not spool.path(rival.public_id).exists()
    # As a near-duplicate (not counted), the same keys are no conflict.
    near = new_contribution(sessions)
    persist(sessions, spool, near, b"three", index=index, validation=accepted(record, [False]))
    assert reload(sessions, near).stage == Stage.VALIDATED
    assert index.record_count() == 1


def test_persist_rejects_a_fingerprint_already_in_the_dataset(
    sessions: sessionmaker[Session], spool: Spool
) -> None:
    index = DedupIndex(sessions.kw["bind"])
    first = add_contribution(sessions)
    copy = new_contribution(sessions, fingerprint=first.fingerprint)
    record = NewRecords(np.full((1, 16), 9, np.uint8), np.arange(BANDS, dtype=np.int64)[None])
    persist(sessions, spool, copy, b"c", index=index, validation=accepted(record, [True]))
    duplicate = reload(sessions, copy)
    assert duplicate.stage == Stage.REJECTED and duplicate.fingerprint is None
    assert duplicate.report["rejection_reasons"] == [ALREADY_IN_DATASET]
    assert not spool.path(duplicate.public_id).exists()  # nothing spooled for a rejection
    assert index.record_count() == 0  # nor indexed
    with sessions() as session:
        assert session.get(StatementNonce, copy.statement_nonce).used  # type: ignore[union-attr]


def test_two_uploads_racing_with_one_nonce_cannot_both_commit(
    sessions: sessionmaker[Session], spool: Spool
) -> None:
    """Both passed check_nonce before either committed: the second commit is refused."""
    index = DedupIndex(sessions.kw["bind"])
    first = new_contribution(sessions)
    rival = new_contribution(sessions)
    rival.statement_nonce = first.statement_nonce
    persist(sessions, spool, first, b"one", index=index, validation=accepted(NewRecords.none(), []))
    with pytest.raises(IntakeRefused, match="already used"):
        persist(
            sessions, spool, rival, b"two", index=index, validation=accepted(NewRecords.none(), [])
        )
    with sessions() as session:
        assert session.get(type(rival), rival.id) is None  # no second row


def test_the_stored_report_names_no_platform_account() -> None:
    """The account's name and id, and the platform's item ids, stay out of the database:
    they come from the export, outside the record schema."""
    from dao_service.intake.records import stored_report
    from validators import Check, CheckStatus, ValidationReport
    from validators.report import ItemCheck

    report = ValidationReport(
        source="twitter",
        account_id="1234567890",
        account_name="Alice_X",
        ownership=[
            Check(name="platform sign-in", status=CheckStatus.PASS,
                  reason="signed in with twitter as alice_x"),
            Check(name="account binding", status=CheckStatus.PASS,
                  reason="first use of this twitter account 1234567890"),
        ],
        platform_items=[
            ItemCheck(item="1555000000000000001", status=CheckStatus.PASS, reason="ok")
        ],
        rejection_reasons=["ownership: signed in as ALICE_X, but ..."],
    )  # fmt: skip
    stored = json.dumps(stored_report(report)).lower()
    assert "alice_x" not in stored and "1234567890" not in stored
    assert "1555000000000000001" not in stored and "platform_items" not in stored
    assert "signed in with twitter as the account" in stored


def test_the_stored_report_names_no_account_signed_in_with() -> None:
    from dao_service.intake.records import stored_report
    from validators import Check, CheckStatus, ValidationReport

    report = ValidationReport(
        source="reddit",
        account_name="alice_redditor",
        ownership=[
            Check(name="platform sign-in", status=CheckStatus.FAIL,
                  reason="signed in as my_main_account, but the export is alice_redditor's")
        ],
    )  # fmt: skip
    stored = json.dumps(stored_report(report, "my_main_account", "t2_abc"))
    assert "my_main_account" not in stored and "alice_redditor" not in stored
    assert "signed in as another account, but the export is the account's" in stored
