"""The local stack's platform stand-in, as calls (local stand-in only: no platform
takes an export's items from anyone but the account that posted them)."""

import requests

from dao_service.exceptions import DataDaoError, StackError


def publish_export(stand_in_url: str, export: bytes) -> int:
    """Make an export's items appear on the stand-in, as if its account had posted them;
    the number of items."""
    url = f"{stand_in_url.rstrip('/')}/standin/exports"
    try:
        answer = requests.post(url, data=export, timeout=30)
    except requests.RequestException as exc:
        raise StackError(f"No platform stand-in answers at {stand_in_url} ({exc}).") from None
    if answer.status_code != 200:
        raise DataDaoError(f"The stand-in refused the export: {answer.text[:200]}")
    return int(answer.json()["published"])
