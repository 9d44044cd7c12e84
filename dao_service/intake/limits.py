"""Upload size and rate limits, checked before anything is decrypted. The counts are in
the database, so every API process and machine counts against the same limits."""

import time

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from dao_service.core.config import Settings
from dao_service.intake.upload import IntakeRefused, Upload
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


def check_upload_limits(settings: Settings, limiter: RateLimiter, upload: Upload) -> None:
    if len(upload.ciphertext) > settings.max_upload_bytes + 16:
        raise IntakeRefused(f"The upload exceeds {settings.max_upload_bytes:,} bytes.", 413)
    if not limiter.allow(
        f"wallet:{upload.contributor.lower()}", settings.uploads_per_wallet_per_hour, 3600
    ):
        raise IntakeRefused("Too many uploads from this wallet; try again later.", 429)
    if not limiter.allow(f"client:{upload.client}", settings.uploads_per_client_per_minute, 60):
        raise IntakeRefused("Too many uploads from this address; try again in a minute.", 429)
