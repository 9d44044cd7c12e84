"""Upload size and rate limits, checked before anything is decrypted."""

import threading
import time
from collections import defaultdict, deque

from dao_service.core.config import Settings
from dao_service.intake.upload import IntakeRefused, Upload


class RateLimiter:
    """Sliding-window counts per key, in this process."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= limit:
                return False
            events.append(now)
            return True


def check_upload_limits(settings: Settings, limiter: RateLimiter, upload: Upload) -> None:
    if len(upload.ciphertext) > settings.max_upload_bytes + 16:
        raise IntakeRefused(f"The upload exceeds {settings.max_upload_bytes:,} bytes.", 413)
    if not limiter.allow(
        f"wallet:{upload.contributor.lower()}", settings.uploads_per_wallet_per_hour, 3600
    ):
        raise IntakeRefused("Too many uploads from this wallet; try again later.", 429)
    if not limiter.allow(f"client:{upload.client}", settings.uploads_per_client_per_minute, 60):
        raise IntakeRefused("Too many uploads from this address; try again in a minute.", 429)
