"""The renter's validation sample: sealed to the service like an upload and signed by the
renter's wallet, checked before it is kept, read back into texts when its rental
settles, and forgotten once no rental took it up. Plaintext exists only in memory."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.chain.sample_statement import recover_statement_signer, sample_statement
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, open_upload
from dao_service.exceptions import SampleRefused, ServiceBusy
from dao_service.models import StatementNonce, ValidationSample
from dao_service.storage.ipfs import IpfsStore
from validators.exceptions import ExportRejected
from validators.pipeline import export_texts

log = logging.getLogger("dao_service.earnings")
MAX_SAMPLE_TEXTS = 2_000


@dataclass(frozen=True)
class SealedSample:
    renter: str
    sha256: bytes
    wrapped_key: bytes  # to the intake key, as an upload's
    iv: bytes
    ciphertext: bytes
    nonce: str  # issued to the renter's wallet (POST /api/contributions/nonce)
    signature: bytes  # the wallet's personal_sign of `sample_statement`
    client: str = "unknown"  # the client's address, for its rate limit


def sample_texts(plaintext: bytes) -> list[str]:
    """The sample's texts: a JSON, NDJSON or CSV export of items with text, else one text
    per non-empty line of UTF-8."""
    try:
        texts = export_texts(plaintext).texts
    except ExportRejected:
        try:
            decoded = plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise SampleRefused(
                "The sample is neither a JSON/NDJSON/CSV export nor UTF-8 text."
            ) from None
        texts = [line.strip() for line in decoded.splitlines() if line.strip()]
    if not texts:
        raise SampleRefused("The sample holds no text to measure value against.")
    if len(texts) > MAX_SAMPLE_TEXTS:
        raise SampleRefused(f"The sample holds {len(texts):,} texts; at most {MAX_SAMPLE_TEXTS:,}.")
    return texts


def check_statement(sessions: sessionmaker[Session], chain: DaoChain, sealed: SealedSample) -> None:
    """The renter's wallet signed this sample's SHA-256 with a nonce issued to it,
    unused and unexpired; the nonce is used up here."""
    text = sample_statement(
        sealed.renter, sealed.sha256, sealed.nonce, chain.chain_id, chain.registry_address
    )
    try:
        signer = recover_statement_signer(text, sealed.signature)
    except ValueError as exc:
        raise SampleRefused(f"The sample's signature is malformed: {exc}.") from exc
    if signer.lower() != sealed.renter.lower():
        raise SampleRefused(
            f"The sample is signed by {signer}, not by the renter {sealed.renter}.", 403
        )
    now = datetime.now(UTC)
    with sessions.begin() as session:
        issued = session.get(StatementNonce, sealed.nonce)
        if issued is None or issued.wallet.lower() != sealed.renter.lower():
            raise SampleRefused("The sample's nonce was not issued to this wallet.", 403)
        if issued.expires_at.replace(tzinfo=UTC) < now:
            raise SampleRefused("The sample's nonce has expired; ask for a new one.", 403)
        used = session.execute(
            update(StatementNonce)
            .where(StatementNonce.nonce == sealed.nonce, StatementNonce.used.is_(False))
            .values(used=True)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise SampleRefused("The sample's nonce was already used.", 409)


def check_capacity(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """At most `max_pending_samples` samples handed in lately are held (the sweep
    forgets those no rental took up)."""
    since = datetime.now(UTC) - timedelta(seconds=settings.sample_unreferenced_seconds)
    with sessions() as session:
        held = session.scalar(
            select(func.count())
            .select_from(ValidationSample)
            .where(ValidationSample.created_at >= since)
        )
    if (held or 0) >= settings.max_pending_samples:
        raise ServiceBusy(
            f"The service holds {held} recent validation samples, the most it keeps; "
            "try again later.",
            retry_after=600,
        )


def held_sample(sessions: sessionmaker[Session], sample_hash: bytes) -> ValidationSample | None:
    with sessions() as session:
        return session.scalars(
            select(ValidationSample).where(ValidationSample.sha256 == "0x" + sample_hash.hex())
        ).first()


def open_sample(custody: CustodyKey, ipfs: IpfsStore, sample: ValidationSample) -> bytes:
    return open_upload(custody.unwrap(sample.wrapped_key), sample.iv, ipfs.cat(sample.cid))


def sweep_unreferenced(
    settings: Settings,
    sessions: sessionmaker[Session],
    ipfs: IpfsStore,
    chain: Callable[[], DaoChain],
    now: datetime,
) -> list[str]:
    """Unpin and forget the samples no rental refers to once they are older than
    `sample_unreferenced_seconds`; returns their SHA-256s. The chain is asked only when
    there are such samples."""
    cutoff = now - timedelta(seconds=settings.sample_unreferenced_seconds)
    with sessions() as session:
        old = session.scalars(
            select(ValidationSample).where(ValidationSample.created_at < cutoff)
        ).all()
    if not old:
        return []
    referenced = {"0x" + h.hex() for h in chain().recorded_sample_hashes()}
    swept = []
    for sample in old:
        if sample.sha256 in referenced:
            continue
        ipfs.unpin(sample.cid)
        with sessions.begin() as session:
            session.execute(delete(ValidationSample).where(ValidationSample.id == sample.id))
        swept.append(sample.sha256)
    if swept:
        log.info("unpinned %d validation samples no rental took up", len(swept))
    return swept
