"""The contribution's row, its spooled ciphertext, and its records in the dedup index.

A validated contribution is committed together with its records in the dedup index (the
same database), its sealed refined records already fsynced to the spool (never the upload)."""

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.validator_set import Verdict
from dao_service.core.files import write_private_file
from dao_service.exceptions import DEPENDENCY_RETRY_AFTER, IntakeRefused, ServiceBusy
from dao_service.intake import ownership
from dao_service.intake.refining import RefinedBlob
from dao_service.intake.upload import Upload
from dao_service.models import Contribution, PendingShare, Stage, StatementNonce
from validators import DedupIndex, Validation, ValidationReport

ALREADY_IN_DATASET = "this export's content is already in the dataset"


class Spool:
    """Sealed refined records accepted but not yet on IPFS, one private file each."""

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


def stored_report(report: ValidationReport, *signed_in: str) -> dict[str, Any]:
    """The report as the database keeps it: nothing that names a platform account (the
    export's name and id, the accounts signed in with, the platform's item ids the
    spot-check looked up, a name in a reason): they are outside the record schema."""
    stored = report.model_dump(
        mode="json", exclude={"account_id", "account_name", "platform_items"}
    )
    labels = {name.lower(): "another account" for name in signed_in if name}
    labels |= {n.lower(): "the account" for n in (report.account_name, report.account_id) if n}

    def unnamed(text: str) -> str:
        for name in sorted(labels, key=len, reverse=True):
            text = re.sub(re.escape(name), labels[name], text, flags=re.IGNORECASE)
        return text

    for group in ("authenticity", "ownership"):
        for check in stored.get(group) or []:
            check["reason"] = unnamed(check["reason"])
    stored["rejection_reasons"] = [unnamed(r) for r in stored.get("rejection_reasons") or []]
    return stored


def new_contribution(
    upload: Upload,
    validation: Validation,
    dataset_id: int,
    public_id: str,
    refined: RefinedBlob | None,
) -> Contribution:
    """The row of a validated upload: an accepted one with its refined records' blob
    (`refined`), whose key the row keeps only wrapped under the custody key, if at all
    (with custody nodes, `persist` records its sealed shares for delivery)."""
    report = validation.report
    accepted = report.accepted and refined is not None
    binding = validation.binding
    return Contribution(
        public_id=public_id,
        contributor=upload.contributor,
        dataset_id=dataset_id,
        source=report.source or upload.source,
        plaintext_sha256="0x" + upload.sha256.hex(),
        statement_nonce=upload.nonce,
        stage=Stage.VALIDATED if accepted else Stage.REJECTED,
        report=stored_report(
            report,
            *(
                (upload.signed_in.account_name, upload.signed_in.account_id)
                if upload.signed_in
                else ()
            ),
        ),
        fingerprint=report.fingerprint if accepted else None,
        score=report.score,
        wrapped_key=refined.kept.wrapped if refined is not None and accepted else None,
        custody_epoch=refined.kept.epoch if refined is not None and accepted else None,
        iv=refined.iv if refined is not None else upload.iv,
        ciphertext_size=len(refined.ciphertext) if refined is not None else 0,
        refined_sha256=refined.sha256 if refined is not None else None,
        record_count=refined.records if refined is not None else None,
        schema_id=refined.schema_id if refined is not None else None,
        account_hash="0x" + binding[0].hex() if accepted and binding else None,
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
    contribution.refined_sha256 = None
    contribution.report["accepted"] = False
    contribution.report["rejection_reasons"] = [ALREADY_IN_DATASET]


def with_verdicts(contribution: Contribution, verdicts: list[Verdict], required: int) -> None:
    """Put every validator's verdict on the contribution's report, side by side; rejected
    (nothing kept to mint) when fewer than `required` agree. ServiceBusy (nothing kept, the
    nonce unused: the same upload may be sent again) when the validators that did not
    answer could still make `required`: a node restarting does not reject an export."""
    agreeing = sum(v.status == "agrees" for v in verdicts)
    away = [v for v in verdicts if v.status == "away"]
    if agreeing < required <= agreeing + len(away):
        raise ServiceBusy(
            f"{agreeing} of the {required} validators this export needs agreed, and "
            f"{len(away)} did not answer ({', '.join(v.validator or v.url for v in away)}); "
            "send it again shortly.",
            DEPENDENCY_RETRY_AFTER,
        )
    contribution.report["verdicts"] = [v.model_dump(mode="json") for v in verdicts]
    if agreeing >= required:
        return
    contribution.stage = Stage.REJECTED
    contribution.fingerprint = None
    contribution.wrapped_key = None
    contribution.refined_sha256 = None
    contribution.report["accepted"] = False
    contribution.report["rejection_reasons"] = [
        f"{agreeing} of {len(verdicts)} validators agreed on this export, and "
        f"{required} must sign it: "
        + "; ".join(
            f"{v.validator or v.url} {v.status}"
            + (f" ({', '.join(v.reasons)})" if v.reasons else "")
            for v in verdicts
        )
    ]


def persist(
    sessions: sessionmaker[Session],
    spool: Spool,
    contribution: Contribution,
    ciphertext: bytes,
    index: DedupIndex,
    validation: Validation,
    sealed_shares: dict[str, bytes] | None = None,
) -> None:
    """Use the nonce and commit the row with the export's records in the dedup index, in
    one transaction; a validated one's sealed refined records are spooled first. IndexConflict (and
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
            if validation.binding_proven:  # the account's owner took it back, if it was not
                ownership.disown_earlier(session, contribution)
            session.add_all(
                PendingShare(contribution_id=contribution.id, node_public_key=node, sealed_share=s)
                for node, s in (sealed_shares or {}).items()
            )
            spool.write(contribution.public_id, ciphertext)
