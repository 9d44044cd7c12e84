"""Decoding and parsing helpers shared by the source modules: strict UTF-8, bounded CSV
fields, tolerant timestamps, and `window.YTD... = [...]` JavaScript data files."""

import csv
import io
from datetime import UTC, datetime
from typing import Any

import orjson

from validators.exceptions import ExportRejected

MAX_FIELD = 1024 * 1024
MAX_DEPTH = 1024  # orjson's nesting limit; deeper JSON is refused, never a RecursionError
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %Z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d",
    "%a %b %d %H:%M:%S %z %Y",
)

csv.field_size_limit(MAX_FIELD)


def decode_utf8(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportRejected(
            f"{name} is not UTF-8 text (bad byte at offset {exc.start}); "
            f"exports are UTF-8, so this file was altered or is not an export."
        ) from exc


def read_csv(name: str, data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file; a field over 1 MiB or broken quoting is a rejection."""
    reader = csv.DictReader(io.StringIO(decode_utf8(name, data), newline=""))
    try:
        rows = list(reader)
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise ExportRejected(f"{name} line {reader.line_num}: {exc}.") from exc
    return header, rows


def parse_time(value: Any) -> datetime | None:
    """A timestamp in any of the formats exports use, as aware UTC; None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    try:  # fast path: ISO 8601 and Reddit's "YYYY-MM-DD HH:MM:SS UTC"
        parsed = datetime.fromisoformat(text.removesuffix(" UTC"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def load_json(name: str, text: str | bytes) -> Any:
    """Parse JSON; malformed or too deeply nested JSON is a rejection naming the file."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith("depth limit"):
            raise ExportRejected(
                f"{name} is nested too deeply (more than {MAX_DEPTH:,} levels of JSON arrays "
                f"or objects, at line {exc.lineno}); no export nests like that."
            ) from exc
        raise ExportRejected(
            f"{name} holds malformed JSON at line {exc.lineno}: {exc.msg}."
        ) from exc


def parse_ytd(name: str, data: bytes) -> Any:
    """The JSON value assigned in an X archive data file (`window.YTD.x.part0 = [...]`)."""
    text = decode_utf8(name, data)
    head, separator, body = text.partition("=")
    if not separator or not head.strip().startswith("window."):
        raise ExportRejected(
            f"{name} is not an X archive data file (no `window.... =` assignment)."
        )
    return load_json(name, body.strip().rstrip(";"))
