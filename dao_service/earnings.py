"""Rental income by measured value, the service's side: take a renter's validation sample
(encrypted like an upload), and once a rental with a sample has executed, value every
live contribution of its dataset against the sample, split the payment, publish the
table on IPFS, and sign and post the dataset's new cumulative earnings root.

Plaintext (the sample and the contributions) exists only in memory, inside `settle`.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.earnings import EarningsRoot
from dao_service.chain.merkle import EarningsTree
from dao_service.chain.provider import ChainProvider
from dao_service.chain.sample_statement import recover_statement_signer, sample_statement
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, IntakeKey, open_upload
from dao_service.exceptions import DataDaoError, ServiceBusy
from dao_service.models import (
    Contribution,
    EarningsTable,
    Stage,
    StatementNonce,
    ValidationSample,
)
from dao_service.storage.audit import prune_audit_events
from dao_service.storage.ipfs import IpfsStore
from dao_service.storage.rate_limits import RateLimiter
from dao_service.valuation import METHOD, ContributionRecords, split, value_contributions
from validators.exceptions import ExportRejected
from validators.pipeline import export_texts
from validators.records import refined_texts
from validators.scoring import demand_key

log = logging.getLogger("dao_service.earnings")
MAX_SAMPLE_TEXTS = 2_000
SWEEP_EVERY_SECONDS = 600  # unreferenced samples and old audit rows are looked for this often


class SampleRefused(DataDaoError, ValueError):
    """The validation sample is unusable; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SettlementError(DataDaoError):
    """A rental's earnings cannot be settled (yet); the message says why."""


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


class EarningsService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        intake_key: IntakeKey,
        custody: CustodyKey,
        ipfs: IpfsStore,
        chain: ChainProvider,
        settle_lock: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self.settings, self.sessions = settings, sessions
        self.intake_key, self.custody, self.ipfs, self._chain = intake_key, custody, ipfs, chain
        self.limits = RateLimiter(sessions)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        # One settlement at a time across the processes sharing the database (SharedLock):
        # each root builds on the one before it.
        self._settle_lock = settle_lock

    # --- the renter's sample --------------------------------------------------------

    def submit_sample(self, sealed: SealedSample) -> ValidationSample:
        """Check and store a sample; returns its record (the same one for the same bytes).
        Only a wallet's signed sample is taken, within its rate limit and the total cap."""
        settings = self.settings
        if len(sealed.ciphertext) > settings.max_sample_bytes + 16:
            raise SampleRefused(f"The sample exceeds {settings.max_sample_bytes:,} bytes.", 413)
        if not self.limits.allow(
            f"sample-client:{sealed.client}", settings.samples_per_client_per_minute, 60
        ):
            raise SampleRefused("Too many samples from this address; wait a minute.", 429)
        self._check_statement(sealed)
        if not self.limits.allow(
            f"sample-wallet:{sealed.renter}", settings.samples_per_wallet_per_hour, 3600
        ):
            raise SampleRefused(
                f"{sealed.renter} handed in {settings.samples_per_wallet_per_hour} samples "
                "this hour, the most a wallet may; try again later.",
                429,
            )
        plaintext = open_upload(
            self.intake_key.unwrap(sealed.wrapped_key), sealed.iv, sealed.ciphertext
        )
        try:
            if hashlib.sha256(plaintext).digest() != sealed.sha256:
                raise SampleRefused("The sample's SHA-256 does not match the decrypted bytes.")
            records = len(sample_texts(plaintext))
            size = len(plaintext)
        finally:
            del plaintext
        digest = "0x" + sealed.sha256.hex()
        with self.sessions() as session:
            known = session.scalars(
                select(ValidationSample).where(ValidationSample.sha256 == digest)
            ).first()
        if known is not None:
            return known
        self._check_capacity()
        cid = self.ipfs.add(sealed.ciphertext, pin=True)
        file_key = self.intake_key.unwrap(sealed.wrapped_key)
        row = ValidationSample(
            sha256=digest,
            renter=sealed.renter,
            size=size,
            records=records,
            cid=cid,
            wrapped_key=self.custody.wrap(file_key),
            iv=sealed.iv,
        )
        with self.sessions.begin() as session:
            session.add(row)
        return row

    def _check_statement(self, sealed: SealedSample) -> None:
        """The renter's wallet signed this sample's SHA-256 with a nonce issued to it,
        unused and unexpired; the nonce is used up here."""
        chain = self._chain()
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
        with self.sessions.begin() as session:
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

    def _check_capacity(self) -> None:
        """At most `max_pending_samples` samples handed in lately are held (the sweep
        forgets those no rental took up)."""
        since = datetime.now(UTC) - timedelta(seconds=self.settings.sample_unreferenced_seconds)
        with self.sessions() as session:
            held = session.scalar(
                select(func.count())
                .select_from(ValidationSample)
                .where(ValidationSample.created_at >= since)
            )
        if (held or 0) >= self.settings.max_pending_samples:
            raise ServiceBusy(
                f"The service holds {held} recent validation samples, the most it keeps; "
                "try again later.",
                retry_after=600,
            )

    def sweep_samples(self, now: datetime | None = None) -> list[str]:
        """Unpin and forget the samples no rental refers to once they are older than
        `sample_unreferenced_seconds`; returns their SHA-256s."""
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(seconds=self.settings.sample_unreferenced_seconds)
        with self.sessions() as session:
            old = session.scalars(
                select(ValidationSample).where(ValidationSample.created_at < cutoff)
            ).all()
        if not old:
            return []
        referenced = {"0x" + h.hex() for h in self._chain().recorded_sample_hashes()}
        swept = []
        for sample in old:
            if sample.sha256 in referenced:
                continue
            self.ipfs.unpin(sample.cid)
            with self.sessions.begin() as session:
                session.execute(delete(ValidationSample).where(ValidationSample.id == sample.id))
            swept.append(sample.sha256)
        if swept:
            log.info("unpinned %d validation samples no rental took up", len(swept))
        return swept

    # --- settling executed rentals --------------------------------------------------

    def settle_pending(self) -> list[EarningsTable]:
        """Settle every executed rental with a sample not settled yet, oldest first. One
        that cannot be settled yet does not hold up the others."""
        chain = self._chain()
        with self.sessions() as session:
            done = set(session.scalars(select(EarningsTable.rental_id)).all())
        settled = []
        for rental_id in chain.approved_valued_rentals():
            if rental_id in done:
                continue
            try:
                settled.append(self.settle(rental_id))
            except SettlementError as exc:
                log.warning("rental %s not settled yet: %s", rental_id, exc.user_message)
        return settled

    def settle(self, rental_id: int) -> EarningsTable:
        """Value the rental's dataset against its sample, publish the table, post the root.
        Idempotent: a settled rental returns its table."""
        with self._settle_lock():
            return self._settle(rental_id)

    def _settle(self, rental_id: int) -> EarningsTable:
        with self.sessions() as session:
            existing = session.scalars(
                select(EarningsTable).where(EarningsTable.rental_id == rental_id)
            ).first()
        if existing is not None:
            return existing
        chain = self._chain()
        if rental_id not in chain.approved_valued_rentals():
            raise SettlementError(
                f"Rental {rental_id} has no validation sample or has not executed."
            )
        dataset_id, payment, sample_hash, _ = chain.rental(rental_id)
        _, epoch, total, funded, _ = chain.earnings_of(dataset_id)
        previous = self.latest(dataset_id)
        if (previous.epoch if previous else 0) != epoch:
            raise SettlementError(
                f"Dataset {dataset_id} is at earnings epoch {epoch} on-chain but "
                f"{previous.epoch if previous else 0} here; settle the rentals in order."
            )
        prior_table = self._table(previous.cid) if previous else None
        settled_before = int(previous.settled_funding) if previous else 0
        to_split = settled_before + payment - total  # this payment and the dust kept so far

        sample = self._held_sample(sample_hash)
        if sample is None:  # recorded on-chain, never given to the service: split by score
            log.warning(
                "rental %s: no sample 0x%s here, split by score", rental_id, sample_hash.hex()
            )
        contributions = self._live_contributions(dataset_id)
        valuation = value_contributions(
            [records for records, _ in contributions],
            sample_texts(self._open_sample(sample)) if sample else [],
        )
        values = valuation.values
        split_by = "measured value"
        if not any(v > 0 for v in values.values()):
            # The sample needed none of the data: split by score, as for a rental without one.
            values = {records.key: float(row.score) for records, row in contributions}
            split_by = "score (no contribution helped the sample)"
        amounts = split(to_split, values)
        if not contributions and not prior_table:
            raise SettlementError(f"Dataset {dataset_id} has no live contributions to pay.")

        cumulative: dict[str, int] = dict(prior_table["cumulative"]) if prior_table else {}
        rows = []
        for records, row in contributions:
            amount = amounts[records.key]
            cumulative[row.contributor] = cumulative.get(row.contributor, 0) + amount
            rows.append(
                {
                    "contribution": records.key,
                    "contributor": row.contributor,
                    "source": row.source,
                    "records": valuation.records_valued[records.key],
                    "value": valuation.values[records.key],
                    "amount": str(amount),
                }
            )
        tree = EarningsTree.of(cumulative)
        table = {
            "dataset_id": dataset_id,
            "epoch": epoch + 1,
            "rental_id": rental_id,
            "sample_sha256": "0x" + sample_hash.hex(),
            "sample_held": sample is not None,
            "split_by": split_by,
            "method": METHOD,
            "sample_copies_dropped": valuation.copies_dropped,
            "payment": str(payment),
            "split": str(to_split),
            "previous": previous.cid if previous else None,
            "contributions": rows,
            "cumulative": {a: str(v) for a, v in sorted(tree.cumulative.items())},
            "root": "0x" + tree.root.hex(),
            "total": str(tree.total),
        }
        cid = self.ipfs.add(orjson.dumps(table), pin=True)
        root = EarningsRoot(
            dataset_id=dataset_id, epoch=epoch + 1, root=tree.root, total=tree.total, cid=cid
        )
        if tree.total > funded:  # the chain would refuse it; say why here
            raise SettlementError(f"The table pays {tree.total} wei, the pool holds {funded}.")
        tx_hash = chain.post_earnings_root(root)
        demand: dict[str, list[float]] = {}
        for records, row in contributions:
            for kind, (value, count) in valuation.by_kind.get(records.key, {}).items():
                measured = demand.setdefault(demand_key(row.source, kind), [0.0, 0])
                measured[0] += value
                measured[1] += count
        settled = EarningsTable(
            rental_id=rental_id,
            dataset_id=dataset_id,
            epoch=epoch + 1,
            cid=cid,
            root="0x" + tree.root.hex(),
            total=str(tree.total),
            settled_funding=str(settled_before + payment),
            demand=demand,
            tx_hash=tx_hash,
        )
        with self.sessions.begin() as session:
            session.add(settled)
        log.info("settled rental %s: epoch %s, table %s", rental_id, epoch + 1, cid)
        return settled

    def latest(self, dataset_id: int) -> EarningsTable | None:
        with self.sessions() as session:
            return session.scalars(
                select(EarningsTable)
                .where(EarningsTable.dataset_id == dataset_id)
                .order_by(EarningsTable.epoch.desc())
            ).first()

    def _table(self, cid: str) -> dict[str, Any]:
        table: dict[str, Any] = orjson.loads(self.ipfs.cat(cid))
        table["cumulative"] = {a: int(v) for a, v in table["cumulative"].items()}
        return table

    def _held_sample(self, sample_hash: bytes) -> ValidationSample | None:
        with self.sessions() as session:
            return session.scalars(
                select(ValidationSample).where(ValidationSample.sha256 == "0x" + sample_hash.hex())
            ).first()

    def _open_sample(self, sample: ValidationSample) -> bytes:
        return open_upload(
            self.custody.unwrap(sample.wrapped_key), sample.iv, self.ipfs.cat(sample.cid)
        )

    def _live_contributions(
        self, dataset_id: int
    ) -> list[tuple[ContributionRecords, Contribution]]:
        """The dataset's contributions still earning (not withdrawn or voided on-chain), in
        the order they came in, each with its records read in memory."""
        chain = self._chain()
        with self.sessions() as session:
            rows = session.scalars(
                select(Contribution)
                .where(
                    Contribution.dataset_id == dataset_id,
                    Contribution.stage == Stage.MINTED,
                    Contribution.disowned_at.is_(None),  # its account's owner took it back
                )
                .order_by(Contribution.id)
            ).all()
        live = []
        for row in rows:
            # Valued on its stored records; an upload stored before refinement is valued
            # once `datadao data refine-stored` has refined it.
            if row.wrapped_key is None or not row.fingerprint or not row.cid or not row.schema_id:
                continue
            if chain.live_weight(bytes.fromhex(row.fingerprint[2:])) == 0:
                continue
            plaintext = open_upload(
                self.custody.unwrap(row.wrapped_key), row.iv, self.ipfs.cat(row.cid)
            )
            try:
                read = refined_texts(plaintext)
            except ValueError:  # records of another schema version
                read = None
            finally:
                del plaintext
            if read is not None:
                live.append(
                    (
                        ContributionRecords(
                            row.fingerprint, read.texts, read.band_keys, read.kinds
                        ),
                        row,
                    )
                )
        return live

    # --- background side ------------------------------------------------------------

    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="earnings-worker", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)

    def _run(self) -> None:
        swept_at = 0.0
        while not self._stop.wait(self.settings.earnings_poll_seconds):
            try:
                self.settle_pending()
            except Exception as exc:  # chain/IPFS down or a sample missing: retry later
                log.warning("earnings not settled yet: %s: %s", type(exc).__name__, exc)
            if time.monotonic() - swept_at > SWEEP_EVERY_SECONDS:
                try:
                    self.sweep_samples()
                    pruned = prune_audit_events(self.sessions, self.settings.audit_retention_days)
                    if pruned:
                        log.info("deleted %d audit rows past retention", pruned)
                    swept_at = time.monotonic()
                except Exception as exc:  # chain/IPFS/database down: next time round
                    log.warning("not swept: %s: %s", type(exc).__name__, exc)
