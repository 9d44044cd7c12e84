"""The contribution's row, its spooled ciphertext, and its records in the dedup index.

A validated contribution is committed with its ciphertext already fsynced to the spool;
its record keys wait in the row's columns until the dedup index holds them (`sync_index`, which is
idempotent and rerun by the worker after a crash)."""

import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.custody import CustodyKey
from dao_service.intake.upload import Upload
from dao_service.models import Contribution, Stage, StatementNonce
from dao_service.storage.files import write_private_file
from validators import DedupIndex, NewRecords, Validation
from validators._utils.fingerprints import BANDS, FINGERPRINT_BYTES

ALREADY_IN_DATASET = "this export's content is already in the dataset"


class Spool:
    """Ciphertexts accepted but not yet on IPFS, one private file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, public_id: str) -> Path:
        return self.directory / f"{public_id}.bin"

    def write(self, public_id: str, ciphertext: bytes) -> None:
        write_private_file(self.path(public_id), ciphertext)

    def read(self, public_id: str) -> bytes:
        return self.path(public_id).read_bytes()

    def remove(self, public_id: str) -> None:
        self.path(public_id).unlink(missing_ok=True)


def new_contribution(
    upload: Upload, validation: Validation, dataset_id: int, file_key: bytes, custody: CustodyKey
) -> Contribution:
    report = validation.report
    return Contribution(
        public_id=str(uuid.uuid4()),
        contributor=upload.contributor,
        dataset_id=dataset_id,
        source=report.source or upload.source,
        plaintext_sha256="0x" + upload.sha256.hex(),
        statement_nonce=upload.nonce,
        stage=Stage.VALIDATED if report.accepted else Stage.REJECTED,
        # The account's name and id stay out of the database (they come from the export).
        report=report.model_dump(mode="json", exclude={"account_id", "account_name"}),
        index_fingerprints=validation.additions.fingerprints.tobytes(),
        index_band_keys=validation.additions.band_keys.tobytes(),
        binding_hash=validation.binding[0] if validation.binding else None,
        indexed=False,
        fingerprint=report.fingerprint if report.accepted else None,
        score=report.score,
        wrapped_key=custody.wrap(file_key) if report.accepted else None,
        iv=upload.iv,
        ciphertext_size=len(upload.ciphertext),
    )


def fingerprint_taken(session: Session, fingerprint: str | None) -> bool:
    return (
        session.scalars(
            select(Contribution.id).where(Contribution.fingerprint == fingerprint)
        ).first()
        is not None
    )


def reject_as_duplicate(contribution: Contribution) -> None:
    contribution.stage = Stage.REJECTED
    contribution.fingerprint = None
    contribution.wrapped_key = None
    contribution.report["accepted"] = False
    contribution.report["rejection_reasons"] = [ALREADY_IN_DATASET]


def persist(
    sessions: sessionmaker[Session], spool: Spool, contribution: Contribution, ciphertext: bytes
) -> None:
    """Use the nonce and commit the row; a validated one's ciphertext is spooled first."""
    with sessions.begin() as session:
        session.get(StatementNonce, contribution.statement_nonce).used = True  # type: ignore[union-attr]
        if contribution.stage == Stage.VALIDATED and fingerprint_taken(
            session, contribution.fingerprint
        ):
            reject_as_duplicate(contribution)
        session.add(contribution)
        session.flush()
        if contribution.stage == Stage.VALIDATED:
            spool.write(contribution.public_id, ciphertext)


def sync_index(
    sessions: sessionmaker[Session], index: DedupIndex, contribution: Contribution
) -> None:
    """Add the contribution's records to the dedup index (idempotent), then mark it."""
    if contribution.indexed:
        return
    index.commit(index_keys(contribution), index_binding(contribution))
    with sessions.begin() as session:
        row = session.get(Contribution, contribution.id)
        assert row is not None
        row.indexed, row.index_fingerprints, row.index_band_keys = True, None, None
    contribution.indexed = True
    contribution.index_fingerprints = contribution.index_band_keys = None


def index_keys(contribution: Contribution) -> NewRecords:
    if not contribution.index_fingerprints or contribution.index_band_keys is None:
        return NewRecords.none()
    return NewRecords(
        np.frombuffer(contribution.index_fingerprints, np.uint8).reshape(-1, FINGERPRINT_BYTES),
        np.frombuffer(contribution.index_band_keys, np.int64).reshape(-1, BANDS),
    )


def index_binding(contribution: Contribution) -> tuple[bytes, str] | None:
    if contribution.binding_hash is None:
        return None
    return contribution.binding_hash, contribution.contributor
