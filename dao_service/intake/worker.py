"""The background worker: claims unfinished contributions (leases, see `queue`) and
advances them: IPFS, then minting, batched. It retries with backoff while
IPFS or the chain is unreachable and says so on the receipt. Runs as a thread of the API
process (the embedded default) or as processes of its own (`python -m dao_service.worker`)."""

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import ChainRefused
from dao_service.intake import queue
from dao_service.models import Contribution, Stage

log = logging.getLogger("dao_service.intake")

Step = Callable[[Contribution], None]
REFUSED_RETRY = 300.0  # seconds before what the chain refused is tried again
RECHECK_EVERY = 10.0  # seconds between looks at whether the chain still records the minted

MintBatch = Callable[[list[Contribution]], list[tuple[Contribution, ChainRefused]]]


def note_error(sessions: sessionmaker[Session], contribution: Contribution, message: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Contribution)
            .where(Contribution.id == contribution.id)
            .values(last_error=message)
        )


class IntakeWorker:
    """`store` advances one contribution; `mint` a list of stored or minting ones;
    `recheck` (every RECHECK_EVERY seconds) sends the minted the chain lost back to stored,
    and `release` (as often) releases matured contributions' tokens; `deliver` hands the
    minted ones' sealed key shares to the custody nodes."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: Step,
        mint: MintBatch,
        lease_seconds: float = 60,
        batch_size: int = 32,
        recheck: Callable[[], int] | None = None,
        release: Callable[[], int] | None = None,
        deliver: Callable[[], int] | None = None,
    ) -> None:
        self.sessions = sessions
        self._store, self._mint, self._recheck = store, mint, recheck
        self._release, self._deliver = release, deliver
        self._rechecked = 0.0
        self.lease_seconds, self.batch_size = lease_seconds, batch_size
        self.name = queue.worker_name()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="intake-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            progressed = False
            try:
                progressed = self.process_pending()
                if self._deliver:
                    progressed |= self._deliver() > 0
                if time.monotonic() - self._rechecked >= RECHECK_EVERY:
                    for periodic in (self._recheck, self._release):
                        if periodic:
                            progressed |= periodic() > 0
                    self._rechecked = time.monotonic()
                backoff = 0.5
            except Exception as exc:  # the chain or IPFS is down: wait and retry
                log.warning("intake worker: %s; retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not progressed:
                self._wake.wait(timeout=1.0)
                self._wake.clear()

    def process_pending(self) -> bool:
        """Claim a batch of unfinished contributions and advance each as far as it goes;
        True if there was any."""
        claimed = queue.claim(self.sessions, self.name, self.batch_size, self.lease_seconds)
        if not claimed:
            return False
        try:
            with queue.renewing(self.sessions, self.name, self.lease_seconds):
                self._advance(claimed)
        finally:
            queue.release(self.sessions, self.name)
        return True

    def _advance(self, claimed: list[Contribution]) -> None:
        for contribution in claimed:
            if contribution.stage == Stage.VALIDATED:
                self._attempt(contribution, self._store)
        stored = [c for c in claimed if c.stage in (Stage.STORED, Stage.MINTING)]
        if stored:
            try:
                refusals = self._mint(stored)
            except queue.LeaseLost as exc:
                log.warning("intake worker: %s", exc)
                refusals = []
            except Exception as exc:
                for contribution in stored:
                    self._waiting(contribution, exc)
                raise
            for contribution, refusal in refusals:
                self._refused(contribution, refusal)

    def _attempt(self, contribution: Contribution, step: Step) -> None:
        try:
            step(contribution)
        except ChainRefused as exc:
            self._refused(contribution, exc)
        except queue.LeaseLost as exc:
            log.warning("intake worker: %s", exc)
        except Exception as exc:  # IPFS or chain unreachable: say so on the receipt, retry
            self._waiting(contribution, exc)
            raise

    def _refused(self, contribution: Contribution, refusal: ChainRefused) -> None:
        queue.defer(
            self.sessions, contribution, REFUSED_RETRY, f"the chain refused: {refusal.reason}"
        )

    def _waiting(self, contribution: Contribution, exc: Exception) -> None:
        note_error(
            self.sessions, contribution, f"waiting to retry: {type(exc).__name__}: {exc}"[:500]
        )
