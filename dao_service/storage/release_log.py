"""The key-release log: each used challenge and each audit row, written by one thread per
process in group commits. Whatever arrived while the previous transaction committed goes
into the next one, so many releases in several processes take SQLite's single writer (or
a PostgreSQL commit) a few times, not once each. A release is answered only after its
transaction committed: nothing released goes unrecorded, and a challenge is used once
whichever process sees it."""

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dao_service.exceptions import StackError
from dao_service.models import AuditEvent, KeyChallenge
from dao_service.storage.database import dialect_insert

REPLAYED = "the challenge was already used"
PRUNE_EVERY = 60  # seconds between deletions of long-expired nonces
PRUNE_MARGIN = 120  # seconds past its expiry a nonce is kept (clocks differ a little)


@dataclass(frozen=True)
class UsedChallenge:
    nonce: str
    address: str
    expires_at: int


@dataclass(frozen=True)
class LogEntry:
    """One release or refusal; `challenge` is used up with it (a release's first page)."""

    address: str | None
    dataset_id: int | None
    outcome: str
    detail: str
    challenge: UsedChallenge | None = None
    done: "Future[bool]" = field(default_factory=Future, compare=False)


class ReleaseLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Built once: a statement built anew for each batch is compiled anew too.
        self._use = (
            dialect_insert(engine)(KeyChallenge)
            .on_conflict_do_nothing(index_elements=[KeyChallenge.nonce])
            .returning(KeyChallenge.nonce)
        )
        self._audit = insert(AuditEvent)
        self._pruned_at = float("-inf")
        self._queue: queue.SimpleQueue[LogEntry] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._writer: threading.Thread | None = None

    async def record(self, entry: LogEntry) -> bool:
        """Write `entry` (waiting for its commit); False if its challenge was used before,
        in which case a refusal was written instead of it. StackError (a 503) if the
        database does not take it: nothing is released unrecorded."""
        try:
            return await asyncio.wrap_future(self.submit(entry))
        except SQLAlchemyError as exc:
            raise StackError(
                "The database did not record the key release; try again shortly."
            ) from exc

    def submit(self, entry: LogEntry) -> "Future[bool]":
        """Queue `entry` for the next commit; the future says what `record` says."""
        if self._writer is None or not self._writer.is_alive():
            with self._start:
                if self._writer is None or not self._writer.is_alive():
                    self._writer = threading.Thread(
                        target=self._run, name="release-log", daemon=True
                    )
                    self._writer.start()
        self._queue.put(entry)
        return entry.done

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                fresh = self._write_retrying(batch)
            except Exception as exc:  # every waiting release fails, the writer goes on
                for entry in batch:
                    entry.done.set_exception(exc)
            else:
                for entry, is_fresh in zip(batch, fresh, strict=True):
                    entry.done.set_result(is_fresh)

    def _next_batch(self) -> list[LogEntry]:
        """Everything queued (waiting for the first), less what its caller gave up on
        (a cancelled request): the rest can no longer be cancelled, only answered."""
        while True:
            queued = [self._queue.get()]
            while True:
                try:
                    queued.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = [entry for entry in queued if entry.done.set_running_or_notify_cancel()]
            if batch:
                return batch

    def _write_retrying(self, batch: list[LogEntry]) -> list[bool]:
        """A deadlock or a lock timeout fails the transaction, not its releases: once more."""
        try:
            return self._write(batch)
        except OperationalError:
            return self._write(batch)

    def _write(self, batch: list[LogEntry]) -> list[bool]:
        """One transaction for the batch: challenges inserted unless already there, then an
        audit row each (a refusal for a replayed challenge). Which entries were fresh."""
        wanted: dict[str, UsedChallenge] = {}
        for entry in batch:
            if entry.challenge is not None:
                wanted.setdefault(entry.challenge.nonce, entry.challenge)
        with self.engine.begin() as connection:
            self._prune(connection)
            inserted = {
                nonce
                for c in sorted(wanted.values(), key=lambda c: c.nonce)  # one lock order
                for nonce in connection.execute(
                    self._use,
                    {
                        "nonce": c.nonce,
                        "address": c.address,
                        "expires_at": datetime.fromtimestamp(c.expires_at, UTC),
                        "used": True,
                    },
                ).scalars()
            }
            fresh, rows = [], []
            for entry in batch:
                challenge = entry.challenge
                is_fresh = challenge is None or (
                    challenge.nonce in inserted and wanted[challenge.nonce] is challenge
                )
                fresh.append(is_fresh)
                outcome, detail = entry.outcome, entry.detail
                if challenge is not None and not is_fresh:
                    outcome, detail = "refused", f"challenge {challenge.nonce}: {REPLAYED}"
                rows.append(
                    {
                        "action": "key_release",
                        "address": entry.address,
                        "dataset_id": entry.dataset_id,
                        "outcome": outcome,
                        "detail": detail,
                    }
                )
            connection.execute(self._audit, rows)
        return fresh

    def _prune(self, connection: Connection) -> None:
        """Forget nonces of requests long expired: a request past its expiry is refused
        before it gets here, so their rows guard nothing any more."""
        now = time.time()
        if now - self._pruned_at >= PRUNE_EVERY:
            cutoff = datetime.fromtimestamp(now - PRUNE_MARGIN, UTC)
            connection.execute(delete(KeyChallenge).where(KeyChallenge.expires_at < cutoff))
            self._pruned_at = now
