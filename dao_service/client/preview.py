"""What renters would receive of an export, computed on this machine before anything is
signed or sent: its first records refined and scrubbed as the service would store them.
Pseudonyms here are keyed by a throwaway key: the service's own differ, and are as opaque."""

from typing import Any

from dao_service.exceptions import ContributionFailed

PREVIEW_RECORDS = 5


def preview(
    plaintext: bytes, contributor: str, limit: int = PREVIEW_RECORDS
) -> list[dict[str, Any]]:
    """The first `limit` refined records of an upload (as `export_data` built it)."""
    from validators import ExportRejected
    from validators.pipeline import preview_rows

    try:
        return preview_rows(plaintext, contributor, limit)
    except ExportRejected as exc:
        raise ContributionFailed(exc.user_message) from exc
