"""Upload size and rate limits, checked before anything is decrypted. The counts are in
the database (`storage.rate_limits`), so every API process and machine counts against the
same limits."""

from dao_service.core.config import Settings
from dao_service.exceptions import IntakeRefused
from dao_service.intake.upload import Upload
from dao_service.storage.rate_limits import RateLimiter


def check_upload_limits(settings: Settings, limiter: RateLimiter, upload: Upload) -> None:
    if len(upload.ciphertext) > settings.max_upload_bytes + 16:
        raise IntakeRefused(f"The upload exceeds {settings.max_upload_bytes:,} bytes.", 413)
    if not limiter.allow(
        f"wallet:{upload.contributor.lower()}", settings.uploads_per_wallet_per_hour, 3600
    ):
        raise IntakeRefused("Too many uploads from this wallet; try again later.", 429)
    if not limiter.allow(f"client:{upload.client}", settings.uploads_per_client_per_minute, 60):
        raise IntakeRefused("Too many uploads from this address; try again in a minute.", 429)
