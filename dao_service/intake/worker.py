"""The background worker: advances every unfinished contribution one stage at a time
(index sync and IPFS, then minting), retrying with backoff while IPFS or the chain is
unreachable and saying so on the receipt."""

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import ChainRefused
from dao_service.models import Contribution, Stage

log = logging.getLogger("dao_service.intake")

Step = Callable[[Contribution], None]


def note_error(sessions: sessionmaker[Session], contribution: Contribution, message: str) -> None:
    with sessions.begin() as session:
        row = session.get(Contribution, contribution.id)
        if row is not None:
            row.last_error = message


class IntakeWorker:
    """`index`, `store` and `mint` are the stages, each taking the contribution."""

    def __init__(
        self, sessions: sessionmaker[Session], index: Step, store: Step, mint: Step
    ) -> None:
        self.sessions = sessions
        self._index, self._store, self._mint = index, store, mint
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="intake-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            progressed = False
            try:
                progressed = self.process_pending()
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
        """Advance every unfinished contribution one stage; True if any moved."""
        with self.sessions() as session:
            pending = session.scalars(
                select(Contribution)
                .where(Contribution.stage.in_([Stage.VALIDATED, Stage.STORED]))
                .order_by(Contribution.id)
            ).all()
        moved = False
        for contribution in pending:
            try:
                if contribution.stage == Stage.VALIDATED:
                    self._index(contribution)
                    self._store(contribution)
                    moved = True
                if contribution.stage == Stage.STORED:
                    self._mint(contribution)
                    moved = True
            except ChainRefused as exc:
                note_error(self.sessions, contribution, f"the chain refused: {exc.reason}")
            except Exception as exc:  # IPFS or chain unreachable: say so on the receipt, retry
                note_error(
                    self.sessions,
                    contribution,
                    f"waiting to retry: {type(exc).__name__}: {exc}"[:500],
                )
                raise
        return moved
