"""The contribution statement: signed by the contributor (EIP-712) over the export's
SHA-256, with a nonce the service issued to that wallet and that is used once."""

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dao_service.chain.attestations import recover_typed_signer, statement_typed_data
from dao_service.exceptions import IntakeRefused
from dao_service.intake.upload import Upload
from dao_service.models import Contribution, Stage, StatementNonce
from validators.refine import SCHEMA_ID

NONCE_LIFETIME = timedelta(minutes=30)


def new_nonce(wallet: str) -> StatementNonce:
    return StatementNonce(
        nonce=secrets.token_hex(16), wallet=wallet, expires_at=datetime.now(UTC) + NONCE_LIFETIME
    )


def check_signature(upload: Upload, chain_id: int, registry: str) -> None:
    typed = statement_typed_data(
        upload.contributor,
        upload.sha256,
        upload.source,
        upload.nonce,
        chain_id,
        registry,
        schema=SCHEMA_ID,
    )
    try:
        signer = recover_typed_signer(typed, upload.signature)
    except (ValueError, TypeError) as exc:
        raise IntakeRefused(f"The statement signature is malformed: {exc}.") from exc
    if signer.lower() != upload.contributor.lower():
        who = f"{signer}, not by the contributor {upload.contributor}"
        raise IntakeRefused(f"The statement is signed by {who}.", 403)


def earlier_contribution(session: Session, upload: Upload) -> Contribution | None:
    """The contributor's earlier contribution of the same export, if any (not rejected)."""
    return session.scalars(
        select(Contribution).where(
            Contribution.contributor == upload.contributor,
            Contribution.plaintext_sha256 == "0x" + upload.sha256.hex(),
            Contribution.stage != Stage.REJECTED,
        )
    ).first()


def check_nonce(session: Session, upload: Upload) -> None:
    nonce = session.get(StatementNonce, upload.nonce)
    if nonce is None or nonce.wallet.lower() != upload.contributor.lower():
        raise IntakeRefused("The statement's nonce was not issued to this wallet.", 403)
    if nonce.used:
        raise IntakeRefused("The statement's nonce was already used.", 409)
    if nonce.expires_at.replace(tzinfo=UTC) < datetime.now(UTC):
        raise IntakeRefused("The statement's nonce has expired; ask for a new one.", 403)
