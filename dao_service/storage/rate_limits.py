"""Rate limits counted in the database, so every API process and machine counts against
the same limit."""

import time

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from dao_service.models import RateCount
from dao_service.storage.database import dialect_insert


class RateLimiter:
    """Fixed-window counts per key: one atomic upsert that returns the new count, so two
    processes counting at once both see each other (a burst across a window's edge may
    reach twice the limit, the price of one row per key and window)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def allow(self, key: str, limit: int, window: float) -> bool:
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
        return count <= limit
