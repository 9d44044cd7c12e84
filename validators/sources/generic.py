"""Any JSON, NDJSON or CSV export of items with text: no account identity, so ownership
rests on the wallet's signature alone (and scores lower)."""

from datetime import UTC, datetime
from typing import Any

from validators._utils.text import decode_utf8, load_json, parse_time, read_csv
from validators.exceptions import ExportRejected
from validators.report import ParsedExport, Record
from validators.sources.common import failed, passed

TEXT_FIELDS = ("text", "full_text", "body", "content", "message", "title")
TIME_FIELDS = ("created_at", "date", "timestamp", "time")
ID_FIELDS = ("id", "id_str", "uuid")


def _items(name: str, text: str) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        return list(load_json(name, text))
    if stripped.startswith("{"):
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                items.append(load_json(f"{name} line {number}", line))
        return items
    return []


def _record(index: int, item: Any) -> Record:
    if not isinstance(item, dict):
        raise ExportRejected(f"Item {index + 1} is not an object with fields.")
    text = next((str(item[f]) for f in TEXT_FIELDS if item.get(f)), "")
    created = next((parse_time(item[f]) for f in TIME_FIELDS if item.get(f) is not None), None)
    record_id = next((str(item[f]) for f in ID_FIELDS if item.get(f) is not None), str(index))
    return Record(record_id=f"item:{record_id}", kind="item", text=text, created_at=created)


class GenericExport:
    name = "generic"

    def detect(self, files: dict[str, bytes]) -> bool:
        return len(files) == 1

    def parse(self, files: dict[str, bytes]) -> ParsedExport:
        ((name, data),) = files.items()
        text = decode_utf8(name, data)
        items = _items(name, text)
        if items:
            records = [_record(i, item) for i, item in enumerate(items)]
        else:
            header, rows = read_csv(name, data)
            if not any(f in header for f in TEXT_FIELDS):
                raise ExportRejected(
                    f"{name} is neither JSON, NDJSON nor a CSV with a text column "
                    f"({', '.join(TEXT_FIELDS)})."
                )
            records = [_record(i, row) for i, row in enumerate(rows)]
        now = datetime.now(UTC)
        future = [r for r in records if r.created_at and r.created_at > now]
        checks = [
            passed("readable", f"{len(records)} items with text fields")
            if records
            else failed("readable", "the export holds no items"),
            failed(
                "no future dates",
                f"{len(future)} items are dated in the future, first {future[0].record_id}",
            )
            if future
            else passed("no future dates", "no item is dated in the future"),
        ]
        return ParsedExport(source=self.name, records=records, authenticity=checks, export_time=now)
