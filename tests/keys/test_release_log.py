"""The key-release log: a nonce sent to two API processes at once is used by one of them;
every entry gets its audit row; group commits lose nothing. On SQLite and PostgreSQL."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import StackError
from dao_service.keys.release_log import REPLAYED, LogEntry, ReleaseLog, UsedChallenge
from dao_service.models import AuditEvent, KeyChallenge
from dao_service.storage.database import make_engine, migrate, session_factory
from tests.utils import postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
        migrate(engine)
        yield session_factory(engine)
        engine.dispose()
        return
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres.postgres_cluster() as url:
        engine = make_engine(url)
        migrate(engine)
        yield session_factory(engine)
        engine.dispose()


@pytest.fixture
def open_log(sessions: sessionmaker[Session]) -> Iterator[Callable[[Engine], ReleaseLog]]:
    """Release logs on the test's database, closed before it goes: no writer thread
    outlives the test and reaches for a database that is gone."""
    opened: list[ReleaseLog] = []

    def opening(engine: Engine) -> ReleaseLog:
        opened.append(ReleaseLog(engine))
        return opened[-1]

    yield opening
    for log in opened:
        log.close()


def release(nonce: str) -> LogEntry:
    challenge = UsedChallenge(nonce, "0xRenter", int(time.time()) + 60)
    return LogEntry("0xRenter", 1, "released", f"5 keys, challenge {nonce}", challenge)


def test_a_nonce_sent_to_two_processes_at_once_is_used_once(
    sessions: sessionmaker[Session],
    open_log: Callable[[Engine], ReleaseLog],
) -> None:
    # Two API processes (each its own writer thread, own connections), one database.
    engine = sessions.kw["bind"]
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    processes = [open_log(sessions.kw["bind"]), open_log(other_engine)]
    jobs = [(process, f"{i:032x}") for i in range(200) for process in processes]
    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(lambda job: job[0].submit(release(job[1])).result(), jobs))
    other_engine.dispose()
    fresh = dict.fromkeys((nonce for _, nonce in jobs), 0)
    for (_, nonce), is_fresh in zip(jobs, outcomes, strict=True):
        fresh[nonce] += is_fresh
    assert set(fresh.values()) == {1}  # each nonce: exactly one release
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(KeyChallenge)) == 200
        outcomes_audited = session.execute(
            select(AuditEvent.outcome, func.count()).group_by(AuditEvent.outcome)
        ).all()
    assert sorted(outcomes_audited) == [("refused", 200), ("released", 200)]


def test_one_batch_with_a_replay_and_a_refusal_audits_each(
    sessions: sessionmaker[Session],
    open_log: Callable[[Engine], ReleaseLog],
) -> None:
    log = open_log(sessions.kw["bind"])
    first, replay = release("ab" * 16), release("ab" * 16)
    refusal = LogEntry(None, 1, "refused", "challenge x: the signature is malformed")
    assert log._write([first, replay, refusal]) == [True, False, True]
    assert log.submit(release("ab" * 16)).result() is False  # used in an earlier transaction too
    with sessions() as session:
        rows = session.execute(
            select(AuditEvent.outcome, AuditEvent.detail).order_by(AuditEvent.id)
        ).all()
    assert [outcome for outcome, _ in rows] == ["released", "refused", "refused", "refused"]
    assert rows[1].detail.endswith(REPLAYED) and rows[3].detail.endswith(REPLAYED)


def test_a_failed_commit_fails_its_releases_and_the_writer_goes_on(
    sessions: sessionmaker[Session],
    open_log: Callable[[Engine], ReleaseLog],
) -> None:
    log = open_log(sessions.kw["bind"])
    unwritable = UsedChallenge("ef" * 16, "0xRenter", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        log.submit(LogEntry("0xRenter", 1, "released", "5 keys", unwritable)).result()
    assert log.submit(release("cd" * 16)).result() is True
    with sessions() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]


def test_a_release_given_up_on_is_not_written_and_the_writer_goes_on(
    sessions: sessionmaker[Session],
    open_log: Callable[[Engine], ReleaseLog],
) -> None:
    """A request cancelled while queued (its client gone, a shutdown) is skipped."""
    log = open_log(sessions.kw["bind"])
    abandoned = release("ab" * 16)
    abandoned.done.cancel()
    assert log.submit(abandoned).cancelled()
    assert log.submit(release("cd" * 16)).result(timeout=10) is True
    with sessions() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]


def test_nonces_long_expired_are_forgotten(
    sessions: sessionmaker[Session], open_log: Callable[[Engine], ReleaseLog]
) -> None:
    log = open_log(sessions.kw["bind"])
    long_ago = LogEntry("0xRenter", 1, "released", "5 keys",
                        UsedChallenge("ab" * 16, "0xRenter", int(time.time()) - 3600))  # fmt: skip
    assert log.submit(long_ago).result(timeout=10) is True
    log._pruned_at = float("-inf")  # next batch prunes
    assert log.submit(release("cd" * 16)).result(timeout=10) is True
    with sessions() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]


def test_a_database_that_refuses_the_log_is_a_clear_error(
    sessions: sessionmaker[Session],
    open_log: Callable[[Engine], ReleaseLog],
) -> None:
    engine = sessions.kw["bind"]
    log = open_log(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE key_challenges"))
    with pytest.raises(StackError, match="did not record the key release"):
        asyncio.run(log.record(release("ab" * 16)))


def sqlite_log(tmp_path: Path) -> ReleaseLog:
    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    migrate(engine)
    return ReleaseLog(engine)


def test_on_a_sqlite_file_one_loop_iteration_is_one_commit_on_the_loop(tmp_path: Path) -> None:
    log = sqlite_log(tmp_path)
    assert asyncio.run(log.record(release("ff" * 16))) is True
    commits = []
    event.listen(log.engine, "commit", lambda _: commits.append(threading.get_ident()))

    async def releases() -> list[bool]:
        return await asyncio.gather(*(log.record(release(f"{i:032x}")) for i in range(20)))

    assert asyncio.run(releases()) == [True] * 20
    # one commit, on the loop (the writer thread may have pruned meanwhile: its own)
    assert commits.count(threading.get_ident()) == 1
    assert asyncio.run(log.record(release(f"{3:032x}"))) is False  # used: refused
    with session_factory(log.engine)() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 22
    log.engine.dispose()


def test_while_another_process_writes_the_loop_does_not_wait(tmp_path: Path) -> None:
    """The release waits (in the writer thread) for the lock; other requests go on."""
    log = sqlite_log(tmp_path)
    other_process = make_engine(log.engine.url.render_as_string(hide_password=False))
    holder = other_process.raw_connection()
    holder.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock

    async def scenario() -> tuple[bool, int]:
        ticks = 0

        async def other_requests() -> None:
            nonlocal ticks
            while not recorded.done():
                ticks += 1
                await asyncio.sleep(0.01)

        asyncio.get_running_loop().call_later(0.5, holder.commit)
        recorded = asyncio.ensure_future(log.record(release("ab" * 16)))
        await other_requests()
        return await recorded, ticks

    began = time.monotonic()
    fresh, ticks = asyncio.run(scenario())
    assert fresh is True and time.monotonic() - began >= 0.5
    assert ticks >= 20  # the loop kept serving while the lock was held
    holder.close()
    other_process.dispose()
    log.engine.dispose()


def test_a_release_given_up_on_before_the_loop_commits_is_not_written(tmp_path: Path) -> None:
    log = sqlite_log(tmp_path)

    async def scenario() -> bool:
        abandoned = asyncio.ensure_future(log.record(release("ab" * 16)))
        await asyncio.sleep(0)  # queued for this iteration's commit
        abandoned.cancel()
        return await log.record(release("cd" * 16))

    assert asyncio.run(scenario()) is True
    with session_factory(log.engine)() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]
    log.engine.dispose()


def test_an_idle_writer_stops_and_a_new_entry_starts_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dao_service.keys import release_log

    monkeypatch.setattr(release_log, "IDLE_STOP", 0.2)
    monkeypatch.setattr(release_log, "HOUSEKEEPING_EVERY", 0.05)
    log = sqlite_log(tmp_path)
    assert log.submit(release("ab" * 16)).result(timeout=10) is True
    first = log._writer
    assert first is not None
    first.join(timeout=5)  # stops by itself once idle
    assert not first.is_alive() and log._writer is None
    assert log.submit(release("cd" * 16)).result(timeout=10) is True
    assert log._writer is not None and log._writer is not first
    log.engine.dispose()


def test_a_lock_held_briefly_by_another_process_is_waited_for_on_the_loop(
    tmp_path: Path,
) -> None:
    """Another process's commit takes a millisecond or two: the loop tries again shortly
    (serving others meanwhile) instead of handing its batch to the writer thread."""
    log = sqlite_log(tmp_path)
    assert asyncio.run(log.record(release("ff" * 16))) is True
    other_process = make_engine(log.engine.url.render_as_string(hide_password=False))
    holder = other_process.raw_connection()
    commits: list[int] = []
    event.listen(log.engine, "commit", lambda _: commits.append(threading.get_ident()))

    async def scenario() -> bool:
        holder.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.002, holder.commit)
        return await log.record(release("ab" * 16))

    assert asyncio.run(scenario()) is True
    assert commits.count(threading.get_ident()) == 1  # committed on the loop, once
    holder.close()
    other_process.dispose()
    log.engine.dispose()
