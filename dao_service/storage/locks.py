"""A lock held across processes (and, on PostgreSQL, machines) sharing one database:
whatever must happen one at a time, such as transactions from one relayer account,
whose nonces must not collide."""

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zlib import crc32

from sqlalchemy import Engine, text


class SharedLock:
    """PostgreSQL: a session advisory lock; SQLite (one machine by nature): an flock on a
    file beside the database. A thread lock in front, since both are per process."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        self._threads = threading.Lock()
        self._key = crc32(name.encode())  # advisory locks take a number
        database = engine.url.database
        self._file = (
            Path(f"{database}.{name}.lock")
            if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
            else None
        )

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            if self.engine.dialect.name == "postgresql":
                with self.engine.connect() as connection:
                    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._key})
                    try:
                        yield
                    finally:
                        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                        connection.commit()
            elif self._file is not None:
                with open(self._file, "a") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
            else:
                yield
