"""The key-release log: a nonce sent to two API processes at once is used by one of them;
every entry gets its audit row; group commits lose nothing. On SQLite and PostgreSQL."""

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import StackError
from dao_service.models import AuditEvent, KeyChallenge
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.release_log import REPLAYED, LogEntry, ReleaseLog, UsedChallenge
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


def release(nonce: str) -> LogEntry:
    challenge = UsedChallenge(nonce, "0xRenter", int(time.time()) + 60)
    return LogEntry("0xRenter", 1, "released", f"5 keys, challenge {nonce}", challenge)


def test_a_nonce_sent_to_two_processes_at_once_is_used_once(
    sessions: sessionmaker[Session],
) -> None:
    # Two API processes (each its own writer thread, own connections), one database.
    engine = sessions.kw["bind"]
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    processes = [ReleaseLog(sessions.kw["bind"]), ReleaseLog(other_engine)]
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
) -> None:
    log = ReleaseLog(sessions.kw["bind"])
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
) -> None:
    log = ReleaseLog(sessions.kw["bind"])
    unwritable = UsedChallenge("ef" * 16, "0xRenter", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        log.submit(LogEntry("0xRenter", 1, "released", "5 keys", unwritable)).result()
    assert log.submit(release("cd" * 16)).result() is True
    with sessions() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]


def test_a_release_given_up_on_is_not_written_and_the_writer_goes_on(
    sessions: sessionmaker[Session],
) -> None:
    """A request cancelled while queued (its client gone, a shutdown) is skipped."""
    log = ReleaseLog(sessions.kw["bind"])
    abandoned = release("ab" * 16)
    abandoned.done.cancel()
    assert log.submit(abandoned).cancelled()
    assert log.submit(release("cd" * 16)).result(timeout=10) is True
    with sessions() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]


def test_nonces_long_expired_are_forgotten(sessions: sessionmaker[Session]) -> None:
    log = ReleaseLog(sessions.kw["bind"])
    long_ago = LogEntry("0xRenter", 1, "released", "5 keys",
                        UsedChallenge("ab" * 16, "0xRenter", int(time.time()) - 3600))  # fmt: skip
    assert log.submit(long_ago).result(timeout=10) is True
    log._pruned_at = float("-inf")  # next batch prunes
    assert log.submit(release("cd" * 16)).result(timeout=10) is True
    with sessions() as session:
        assert session.scalars(select(KeyChallenge.nonce)).all() == ["cd" * 16]


def test_a_database_that_refuses_the_log_is_a_clear_error(
    sessions: sessionmaker[Session],
) -> None:
    engine = sessions.kw["bind"]
    log = ReleaseLog(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE key_challenges"))
    with pytest.raises(StackError, match="did not record the key release"):
        asyncio.run(log.record(release("ab" * 16)))
