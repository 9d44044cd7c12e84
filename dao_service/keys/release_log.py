"""The key-release log: each used challenge and each audit row, written in group commits.
Whatever arrived while the previous transaction committed goes into the next one, so many
releases in several processes take SQLite's single writer (or a PostgreSQL commit) a few
times, not once each. A release is answered only after its transaction committed: nothing
released goes unrecorded, and a challenge is used once whichever process sees it.

Who writes: on a local SQLite file, the event loop itself, once per loop iteration for the
releases of that iteration, if the file's write lock is free at once (a transaction is a
fraction of a millisecond; handing it to a thread cost more, in the GIL's hand-overs, than
the write, and the answers waited behind other requests' work). While another process
holds the lock the loop tries again a few milliseconds later (serving other requests
meanwhile); if it is still held, and always on a database across the network, one writer
thread per process commits instead: the loop never waits for a lock."""

import asyncio
import logging
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

log = logging.getLogger(__name__)

REPLAYED = "the challenge was already used"
PRUNE_EVERY = 60  # seconds between deletions of long-expired nonces
PRUNE_MARGIN = 120  # seconds past its expiry a nonce is kept (clocks differ a little)
HOUSEKEEPING_EVERY = 1.0  # seconds between the writer thread's checkpoints, at most
IDLE_STOP = 10.0  # seconds without work after which the writer thread stops
LOCKED_RETRY_DELAYS = (0.001, 0.002, 0.004)  # the loop's tries while another process writes


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
        self._closing = threading.Event()
        self._on_loop = engine.dialect.name == "sqlite" and engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        self._loop_batch: list[tuple[LogEntry, asyncio.Future[bool | None]]] = []
        self._batch_loop: asyncio.AbstractEventLoop | None = None
        self._loop_connection: Connection | None = None
        self._loop_commits = 0  # since the writer thread last checkpointed the WAL

    async def record(self, entry: LogEntry) -> bool:
        """Write `entry` (waiting for its commit); False if its challenge was used before,
        in which case a refusal was written instead of it. StackError (a 503) if the
        database does not take it: nothing is released unrecorded."""
        self._start_writer()  # it also keeps house (see `_keep_house`)
        try:
            if self._on_loop:
                written = await self._queue_on_loop(entry)
                if written is not None:
                    return written
            return await asyncio.wrap_future(self.submit(entry))
        except SQLAlchemyError as exc:
            raise StackError(
                "The database did not record the key release; try again shortly."
            ) from exc

    def _queue_on_loop(self, entry: LogEntry) -> "asyncio.Future[bool | None]":
        """`entry` for this loop iteration's commit; its future says what `record` says,
        or None if the lock was taken (then the writer thread writes it)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool | None] = loop.create_future()
        if not self._loop_batch or self._batch_loop is not loop:  # (a closed loop's: gone)
            self._loop_batch, self._batch_loop = [], loop
            loop.call_soon(self._commit_on_loop)
        self._loop_batch.append((entry, answer))
        return answer

    def _commit_on_loop(self, attempt: int = 0) -> None:
        """Commit what this loop iteration queued. While another process holds the lock
        (its commit takes a millisecond or two), try again shortly, the loop serving
        other requests meanwhile, then leave the batch to the writer thread."""
        waiting, self._loop_batch = self._loop_batch, []
        waiting = [(entry, answer) for entry, answer in waiting if not answer.cancelled()]
        if not waiting:
            return
        fresh: list[bool | None]
        try:
            fresh = list(self._write([entry for entry, _ in waiting], self._without_waiting()))
        except OperationalError:
            if attempt < len(LOCKED_RETRY_DELAYS):
                self._loop_batch = waiting + self._loop_batch  # what arrives meanwhile joins
                loop = asyncio.get_running_loop()
                loop.call_later(LOCKED_RETRY_DELAYS[attempt], self._commit_on_loop, attempt + 1)
                return
            fresh = [None] * len(waiting)
        except Exception as exc:
            for _, answer in waiting:
                answer.set_exception(exc)
            return
        self._loop_commits += 1
        for (_, answer), is_fresh in zip(waiting, fresh, strict=True):
            answer.set_result(is_fresh)

    def _without_waiting(self) -> Connection:
        """The loop's own connection, which fails at once rather than wait for a lock and
        leaves checkpoints (an fsync) to the writer thread."""
        if self._loop_connection is None:
            connection = self.engine.connect()
            connection.exec_driver_sql("PRAGMA busy_timeout = 0")
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
            connection.commit()
            self._loop_connection = connection
        return self._loop_connection

    def submit(self, entry: LogEntry) -> "Future[bool]":
        """Queue `entry` for the next commit; the future says what `record` says."""
        self._start_writer(entry)
        return entry.done

    def _start_writer(self, entry: LogEntry | None = None) -> None:
        """Start the writer thread unless it runs (it stops when idle), then queue
        `entry` if any; under the lock the writer takes to stop, so nothing is queued
        for a writer that has stopped."""
        with self._start:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._run, name="release-log", daemon=True)
                self._writer.start()
            if entry is not None:
                self._queue.put(entry)

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            batch = self._next_batch()
            self._keep_house()
            if not batch:
                if self._closing.is_set() or time.monotonic() - idle_since >= IDLE_STOP:
                    with self._start:
                        if self._queue.empty() and not self._loop_commits:
                            self._writer = None
                            return
                continue
            idle_since = time.monotonic()
            try:
                fresh = self._write_retrying(batch)
            except Exception as exc:  # every waiting release fails, the writer goes on
                for entry in batch:
                    entry.done.set_exception(exc)
            else:
                for entry, is_fresh in zip(batch, fresh, strict=True):
                    entry.done.set_result(is_fresh)

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the loop's connection:
        no thread of a stopped service still reaches for its database."""
        self._closing.set()
        writer = self._writer
        if writer is not None:
            writer.join(timeout=IDLE_STOP)
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None

    def _next_batch(self) -> list[LogEntry]:
        """Everything queued (waiting up to a housekeeping interval for the first), less
        what its caller gave up on (a cancelled request): the rest can no longer be
        cancelled, only answered."""
        try:
            queued = [self._queue.get(timeout=HOUSEKEEPING_EVERY)]
        except queue.Empty:
            return []
        while True:
            try:
                queued.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return [entry for entry in queued if entry.done.set_running_or_notify_cancel()]

    def _keep_house(self) -> None:
        """Off the event loop: forget long-expired nonces now and then (a scan of the
        table), and checkpoint the WAL of the loop's commits (SQLite: copies them into the
        database file and fsyncs it, milliseconds the loop should not wait)."""
        try:
            if time.time() - self._pruned_at >= PRUNE_EVERY:
                with self.engine.begin() as connection:
                    self._prune(connection)
            if self._loop_commits:
                self._loop_commits = 0
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except SQLAlchemyError:  # tried again at the next interval
            log.warning("release log housekeeping failed", exc_info=True)

    def _write_retrying(self, batch: list[LogEntry]) -> list[bool]:
        """A deadlock or a lock timeout fails the transaction, not its releases: once more."""
        try:
            return self._write(batch)
        except OperationalError:
            return self._write(batch)

    def _write(self, batch: list[LogEntry], connection: Connection | None = None) -> list[bool]:
        """One transaction for the batch (on `connection`, or one from the pool)."""
        if connection is None:
            with self.engine.begin() as pooled:
                return self._write_in(pooled, batch)
        with connection.begin():
            return self._write_in(connection, batch)

    def _write_in(self, connection: Connection, batch: list[LogEntry]) -> list[bool]:
        """Challenges inserted unless already there, then an audit row each (a refusal for
        a replayed challenge). Which entries were fresh."""
        wanted: dict[str, UsedChallenge] = {}
        for entry in batch:
            if entry.challenge is not None:
                wanted.setdefault(entry.challenge.nonce, entry.challenge)
        # One statement for the batch (SQLAlchemy's "insertmanyvalues": a multi-row INSERT
        # whose RETURNING names the nonces inserted), in one lock order.
        used = [
            {
                "nonce": c.nonce,
                "address": c.address,
                "expires_at": datetime.fromtimestamp(c.expires_at, UTC),
                "used": True,
            }
            for c in sorted(wanted.values(), key=lambda c: c.nonce)
        ]
        inserted = set(connection.execute(self._use, used).scalars()) if used else set()
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
