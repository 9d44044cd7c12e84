"""Rate limits counted in the database, so every API process and machine counts against
the same limit."""

import time

from sqlalchemy import delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import ServiceBusy
from dao_service.models import RateCount
from dao_service.storage.database import dialect_insert

# A SQLite file refuses a writer with "database is locked" when others hold it past the
# busy timeout (or at once, when a read must become a write in WAL mode): the count is
# tried again a few times, then the request is told to come back.
LOCKED_ATTEMPTS = 4
LOCKED_BACKOFF_SECONDS = 0.05
BUSY_RETRY_AFTER_SECONDS = 2


def is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig)


class RateLimiter:
    """Fixed-window counts per key: one atomic upsert that returns the new count, so two
    processes counting at once both see each other (a burst across a window's edge may
    reach twice the limit, the price of one row per key and window)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def allow(self, key: str, limit: int, window: float) -> bool:
        for attempt in range(LOCKED_ATTEMPTS):
            try:
                return self._count(key, window) <= limit
            except OperationalError as exc:
                if not is_locked(exc):
                    raise
                if attempt + 1 < LOCKED_ATTEMPTS:
                    time.sleep(LOCKED_BACKOFF_SECONDS * 2**attempt)
        raise ServiceBusy(
            f"The service's database is busy; try again in {BUSY_RETRY_AFTER_SECONDS} seconds.",
            BUSY_RETRY_AFTER_SECONDS,
        )

    def _count(self, key: str, window: float) -> int:
        current = int(time.time() // window)
        with self.sessions.begin() as session:
            statement = dialect_insert(session)(RateCount).values(key=key, window=current, count=1)
            count = session.execute(
                statement.on_conflict_do_update(
                    index_elements=[RateCount.key, RateCount.window],
                    set_={"count": RateCount.count + 1},
                ).returning(RateCount.count)
            ).scalar_one()
            session.execute(
                delete(RateCount).where(RateCount.key == key, RateCount.window < current)
            )
        return int(count)
