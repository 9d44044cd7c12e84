"""Times as people read them: "1h 59m", "16:04 UTC"."""

from datetime import UTC, datetime


def duration(seconds: float) -> str:
    """`seconds` as its two largest units: "2d 3h", "1h 59m", "4m 10s", "12s"."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(units) > 1 and units[0][0] == 0:
        units.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in units[:2] if value or unit == units[0][1])


def utc(timestamp: int, now: int | None = None) -> str:
    """ "16:04 UTC" on the same day as `now`, else "2026-11-24 16:04 UTC"."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    today = datetime.fromtimestamp(now, UTC).date() if now is not None else None
    return f"{moment:%H:%M} UTC" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M} UTC"
