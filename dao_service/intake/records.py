"""The contribution's row, its spooled ciphertext, and its records in the dedup index.

A validated contribution is committed together with its records in the dedup index (the
same database), its ciphertext already fsynced to the spool."""

import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.custody import CustodyKey
from dao_service.intake.upload import IntakeRefused, Upload
from dao_service.models import Contribution, Stage, StatementNonce
from dao_service.storage.files import write_private_file
from validators import DedupIndex, Validation

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
    sessions: sessionmaker[Session],
    spool: Spool,
    contribution: Contribution,
    ciphertext: bytes,
    index: DedupIndex,
    validation: Validation,
) -> None:
    """Use the nonce and commit the row with the export's records in the dedup index, in
    one transaction; a validated one's ciphertext is spooled first. IndexConflict (and
    nothing committed) if another export took records this one counted as new."""
    with sessions.begin() as session:
        # A write first, and conditional: on SQLite it waits for the write lock (a read
        # first would hold a snapshot another process's commit makes unwritable), and two
        # uploads racing with one nonce cannot both commit.
        taken = session.execute(
            update(StatementNonce)
            .where(
                StatementNonce.nonce == contribution.statement_nonce,
                StatementNonce.used.is_(False),
            )
            .values(used=True)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise IntakeRefused("The statement's nonce was already used.", 409)
        if contribution.stage == Stage.VALIDATED and fingerprint_taken(
            session, contribution.fingerprint
        ):
            reject_as_duplicate(contribution)
        session.add(contribution)
        session.flush()
        if contribution.stage == Stage.VALIDATED:
            validation.commit(index, session.connection())
            spool.write(contribution.public_id, ciphertext)
