"""What renters would receive of an export, computed on this machine before anything is
signed or sent: its first records refined and scrubbed as the service would store them.
Pseudonyms here are keyed by a throwaway key: the service's own differ, and are as opaque."""

import os
from typing import Any

from dao_service.client.contribute import ContributionFailed

PREVIEW_RECORDS = 5


def preview(
    plaintext: bytes, contributor: str, limit: int = PREVIEW_RECORDS
) -> list[dict[str, Any]]:
    """The first `limit` refined records of an upload (as `export_data` built it)."""
    from validators import ExportRejected
    from validators.pipeline import preview_records
    from validators.refine import Pseudonyms
    from validators.scrub import Scrubber

    pseudonyms = Pseudonyms(os.urandom(32))
    try:
        refinable = preview_records(plaintext, limit)
    except ExportRejected as exc:
        raise ContributionFailed(exc.user_message) from exc
    scrubber = Scrubber(lambda handle: pseudonyms.of(refinable.source, handle))
    rows = refinable.table("preview", contributor, pseudonyms, scrubber.scrub).to_pylist()
    for row in rows:
        row["day"] = row["day"].isoformat() if row["day"] is not None else None
    return rows
