"""Decoding and parsing helpers shared by the source modules: strict UTF-8, bounded CSV
fields (streamed through pyarrow for the big files), tolerant timestamps, JSON (orjson)
and `window.YTD... = [...]` JavaScript data files."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from validators.exceptions import ExportRejected
from validators.unpack import Archive, ChunkReader

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


CSV_BLOCK = 4 << 20  # bytes of CSV parsed per batch: bounds memory whatever the file's size
_ROW_MISMATCH = "Expected "


def csv_batches(
    name: str, archive: Archive, reader: ChunkReader
) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """Header and batches of every column as UTF-8 strings, streamed from `reader`.

    pyarrow refuses a row whose field count differs from the header's, where Python's
    csv module (which the exports were always read with) pads or extends it; such a
    file is read the old way instead, so the same files are accepted as before."""
    header = _sniff_header(reader)
    names = [f"c{i}" for i in range(len(header))]
    try:
        stream = pa_csv.open_csv(
            reader,
            read_options=pa_csv.ReadOptions(
                use_threads=False, block_size=CSV_BLOCK, column_names=names, skip_rows=1
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, StopIteration):  # empty, header only, broken in the 1st block
        return _fallback(name, archive, reader)
    return header, _checked(name, archive, reader, stream)


def _sniff_header(reader: ChunkReader) -> list[str]:
    """The header row as Python's csv module reads it, leaving the stream unread."""
    head = reader.peek(1 << 16)
    text = head.decode("utf-8-sig", errors="replace")
    row = next(csv.reader(io.StringIO(text, newline="")), [])
    return row


def _checked(
    name: str, archive: Archive, reader: ChunkReader, stream: Any
) -> Iterator[pa.RecordBatch]:
    number = 0
    while True:
        try:
            block = stream.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            if _ROW_MISMATCH in str(exc) and number == 0:
                yield from _fallback(name, archive, reader)[1]
                return
            raise _rejected(name, exc, number) from exc
        for column in block.columns:  # Python's csv limit, in characters
            lengths = pc.utf8_length(column)
            longest = pc.max(lengths).as_py() if len(column) else 0
            if longest is not None and longest > MAX_FIELD:
                row = number + int(pc.index(lengths, longest).as_py()) + 1
                raise ExportRejected(
                    f"{name} record {row}: field larger than field limit "
                    f"({MAX_FIELD:,} characters)."
                )
        number += block.num_rows
        yield block


def _rejected(name: str, exc: Exception, rows_before: int) -> ExportRejected:
    message = str(exc)
    if "invalid UTF8" in message:
        return ExportRejected(
            f"{name} is not UTF-8 text (after record {rows_before:,}); "
            f"exports are UTF-8, so this file was altered or is not an export."
        )
    if _ROW_MISMATCH in message:  # "Expected N columns, got M: <the row>": not the row
        detail = message[message.index(_ROW_MISMATCH) :].split(":")[0]
        return ExportRejected(f"{name} after record {rows_before:,}: {detail}.")
    return ExportRejected(f"{name} is not a readable CSV file (after record {rows_before:,}).")


def _fallback(
    name: str, archive: Archive, reader: ChunkReader
) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """The whole file through Python's csv module: rows with missing or extra fields,
    files without rows, or broken in their first block (the old messages for those)."""
    reader.drain()
    header, rows = read_csv(name, archive.read(name))
    columns = {
        f"c{i}": pa.array([row.get(column) or "" for row in rows], pa.large_string())
        for i, column in enumerate(header)
    }
    return header, iter([pa.RecordBatch.from_pydict(columns)] if rows and header else [])


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


def load_json(name: str, text: str | bytes | memoryview) -> Any:
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
    """The JSON value assigned in an X archive data file (`window.YTD.x.part0 = [...]`).
    Parsed from the bytes (orjson checks the UTF-8): no decoded copy of a big file."""
    body = memoryview(data)[3:] if data.startswith(b"\xef\xbb\xbf") else memoryview(data)
    separator = bytes(body[:4096]).find(b"=")
    if separator < 0 or not bytes(body[:separator]).strip().startswith(b"window."):
        raise ExportRejected(
            f"{name} is not an X archive data file (no `window.... =` assignment)."
        )
    end = len(body)  # as `body.strip().rstrip(";")` would
    while end > separator + 1 and chr(body[end - 1]).isspace():
        end -= 1
    while end > separator + 1 and body[end - 1] == ord(";"):
        end -= 1
    return load_json(name, body[separator + 1 : end])
