"""Any JSON, NDJSON or CSV export of items with text: no account identity, so ownership
rests on the wallet's signature alone (and scores lower). Read whole (orjson), one batch."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np

from validators.decoding import decode_utf8, load_json, parse_time, read_csv
from validators.exceptions import ExportRejected
from validators.report import NO_TIME, Check, ParsedExport, RecordBatch
from validators.selection import GENERIC_FIELDS
from validators.selection import GENERIC_ID_FIELDS as ID_FIELDS
from validators.selection import GENERIC_TEXT_FIELDS as TEXT_FIELDS
from validators.selection import GENERIC_TIME_FIELDS as TIME_FIELDS
from validators.sources.common import batch, dated, failed, micros, passed
from validators.unpack import Archive


def _items(name: str, text: str) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        return list(load_json(name, text))
    if stripped.startswith("{"):
        return [
            load_json(f"{name} line {number}", line)
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
    return []


def _fields(index: int, item: Any) -> tuple[str, str, int]:
    if not isinstance(item, dict):
        raise ExportRejected(f"Item {index + 1} is not an object with fields.")
    _refuse_other_fields(f"Item {index + 1}", item)
    text = next((str(item[f]) for f in TEXT_FIELDS if item.get(f)), "")
    created = next((parse_time(item[f]) for f in TIME_FIELDS if item.get(f) is not None), None)
    record_id = next((str(item[f]) for f in ID_FIELDS if item.get(f) is not None), str(index))
    return record_id, text, micros(created)


def _refuse_other_fields(where: str, item: dict[str, Any]) -> None:
    """Only an item's id, text and time are taken: a field beyond them may be anything
    (an email, a location), so the upload is refused, naming it."""
    other = sorted(str(k) for k in item if k not in GENERIC_FIELDS)
    if other:
        raise ExportRejected(
            f"{where} carries {', '.join(other[:5])}: a generic export's items are taken with "
            f"their {', '.join(GENERIC_FIELDS)} only (the web form and `datadao contribute` "
            "leave the rest on your machine)."
        )


class FutureDates:
    """No item is dated in the future (the export has no export time of its own)."""

    def __init__(self) -> None:
        self.now = micros(datetime.now(UTC))
        self.future = 0
        self.first: str | None = None

    def observe(self, records: RecordBatch) -> None:
        late = np.flatnonzero((records.created != NO_TIME) & (records.created > self.now))
        if late.size and self.first is None:
            self.first = dated(int(records.created[late[0]]))
        self.future += late.size

    def result(self) -> list[Check]:
        if self.future:
            return [
                failed(
                    "no future dates",
                    f"{self.future} items are dated in the future, the first {self.first}",
                )
            ]
        return [passed("no future dates", "no item is dated in the future")]  # fmt: skip


class GenericExport:
    name = "generic"

    def detect(self, archive: Archive) -> bool:
        return len(archive.names) == 1

    def parse(self, archive: Archive) -> ParsedExport:
        (name,) = archive.names
        data = archive.read(name)
        items = _items(name, decode_utf8(name, data))
        if not items:
            header, items = read_csv(name, data)
            if not any(f in header for f in TEXT_FIELDS):
                raise ExportRejected(
                    f"{name} is neither JSON, NDJSON nor a CSV with a text column "
                    f"({', '.join(TEXT_FIELDS)})."
                )
            _refuse_other_fields(f"{name}'s header", dict.fromkeys(header))
        del data
        rows = [_fields(i, item) for i, item in enumerate(items)]
        del items
        readable = (
            passed("readable", f"{len(rows)} items with text fields")
            if rows
            else failed("readable", "the export holds no items")
        )
        return ParsedExport(
            source=self.name,
            authenticity=[readable],
            batches=self._records(rows),
            record_checks=[FutureDates()],
            export_time=datetime.now(UTC),
        )

    @staticmethod
    def _records(rows: list[tuple[str, str, int]]) -> Iterator[RecordBatch]:
        if rows:
            ids, texts, created = zip(*rows, strict=True)
            yield batch("item", ids, texts, np.array(created, np.int64))
