"""EarningsService: the stages composed for the API (the renter's sample, settling a
rental) and the background loop (settling executed rentals, sweeping samples).

Plaintext (the sample and the contributions) exists only in memory, inside `settle`.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.chain.earnings_roots import EarningsRoot, earnings_root_typed_data
from dao_service.chain.provider import ChainProvider
from dao_service.chain.validator_set import CoValidators, EarningsRootClaim
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, IntakeKey, open_upload
from dao_service.earnings import node_keys, plan, publish, samples, shares
from dao_service.earnings.samples import SealedSample
from dao_service.exceptions import SampleRefused, SettlementError
from dao_service.models import EarningsTable, ValidationSample
from dao_service.storage.audit import prune_audit_events
from dao_service.storage.ipfs import IpfsStore
from dao_service.storage.rate_limits import RateLimiter

log = logging.getLogger("dao_service.earnings")
SWEEP_EVERY_SECONDS = 600  # unreferenced samples and old audit rows are looked for this often


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
        co_validators: CoValidators,
    ) -> None:
        self.settings, self.sessions = settings, sessions
        self.co_validators = co_validators
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
        samples.check_statement(self.sessions, self._chain(), sealed)
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
            records = len(samples.sample_texts(plaintext))
            size = len(plaintext)
        finally:
            del plaintext
        known = samples.held_sample(self.sessions, sealed.sha256)
        if known is not None:
            return known
        samples.check_capacity(self.settings, self.sessions)
        cid = self.ipfs.add(sealed.ciphertext, pin=True)
        file_key = self.intake_key.unwrap(sealed.wrapped_key)
        row = ValidationSample(
            sha256="0x" + sealed.sha256.hex(),
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

    def sweep_samples(self, now: datetime | None = None) -> list[str]:
        """Unpin and forget the samples no rental took up (`samples.sweep_unreferenced`)."""
        return samples.sweep_unreferenced(
            self.settings, self.sessions, self.ipfs, self._chain, now or datetime.now(UTC)
        )

    # --- settling executed rentals --------------------------------------------------

    def settle_pending(self) -> list[EarningsTable]:
        """Settle every executed rental with a sample not settled yet, oldest first. One
        that cannot be settled yet does not hold up the others."""
        chain = self._chain()
        done = plan.settled_rentals(self.sessions)
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
        existing = plan.settlement_of(self.sessions, rental_id)
        if existing is not None:
            return existing
        chain = self._chain()
        planned = plan.plan(self.sessions, self.ipfs, chain, rental_id)
        sample = samples.held_sample(self.sessions, planned.sample_hash)
        if sample is None:  # recorded on-chain, never given to the service: split by score
            log.warning(
                "rental %s: no sample 0x%s here, split by score",
                rental_id,
                planned.sample_hash.hex(),
            )
        # Contributions split among the custody nodes are opened with their shares, which
        # the nodes release to this validator for an approved valued rental only (and
        # only when there is a sample here to value them against).
        released = self._settlement_keys(chain, planned) if sample is not None else None
        try:
            contributions = plan.live_contributions(
                self.sessions, chain, self.custody, self.ipfs, planned.dataset_id, released,
                unread_by_score=sample is None,
            )  # fmt: skip
        finally:
            if released is not None:
                released.drop()
            del released
        texts = (
            samples.sample_texts(samples.open_sample(self.custody, self.ipfs, sample))
            if sample
            else []
        )
        split = shares.split_payment(planned, contributions, texts)
        return publish.publish(
            self.sessions,
            self.ipfs,
            chain,
            planned,
            split,
            sample_held=sample is not None,
            cosign=self._cosign_root if self.co_validators else None,
        )

    def _settlement_keys(
        self, chain: DaoChain, planned: plan.Plan
    ) -> node_keys.SettlementKeys | None:
        """The custody nodes' shares of the dataset's keys for settling this rental (None
        without custody nodes, or when every live contribution's key is wrapped here)."""
        held = plan.node_held(self.sessions, planned.dataset_id)
        if not held:
            return None
        closed = node_keys.window_closed(chain, planned.rental_id)
        if closed:
            raise SettlementError(closed)
        node_sets = [s for s in map(chain.custody_nodes, sorted(set(held.values()))) if s]
        keys = node_keys.fetch(
            node_sets, held, chain.validator, chain.chain_id, str(chain.escrow.address),
            planned.rental_id, planned.dataset_id,
        )  # fmt: skip
        if keys.not_used:
            log.info("rental %s: custody nodes not used: %s", planned.rental_id, keys.not_used)
        return keys

    def _cosign_root(self, root: EarningsRoot) -> tuple[list[tuple[str, bytes]], list[str]]:
        """Every other validator's signature of `root` (each checks the table itself)."""
        chain = self._chain()
        return self.co_validators.signatures(
            self.co_validators.urls,
            "/api/earnings-roots/signature",
            EarningsRootClaim.of(root),
            earnings_root_typed_data(root, chain.chain_id, str(chain.pool.address)),
        )

    def latest(self, dataset_id: int) -> EarningsTable | None:
        return plan.latest(self.sessions, dataset_id)

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
