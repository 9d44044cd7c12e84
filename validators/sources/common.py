"""What every source shares: check constructors, the date checks (nothing dated after the
export, nothing before the account existed) and building record batches."""

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from validators.decoding import parse_time
from validators.report import NO_TIME, Check, CheckStatus, RecordBatch


def passed(name: str, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.PASS, reason=reason)


def failed(name: str, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.FAIL, reason=reason)


def not_available(name: str, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.NOT_AVAILABLE, reason=reason)


def dated(created: int) -> str:
    """A record's time (µs) as a reason names it: never by its platform id, which would
    name its author to anyone who reads the reason."""
    return f"{datetime.fromtimestamp(created / 1e6, UTC):%Y-%m-%d %H:%M} UTC"


def micros(moment: datetime | None) -> int:
    return NO_TIME if moment is None else int(moment.timestamp() * 1_000_000)


def times(values: pa.Array, fmt: str) -> np.ndarray:
    """Timestamps (µs, NO_TIME where unreadable): `fmt` vectorised, the rare other format
    through `parse_time`, as the records were always read."""
    parsed = pc.strptime(values, fmt, unit="us", error_is_null=True)
    out = parsed.cast(pa.int64()).fill_null(NO_TIME).to_numpy(zero_copy_only=False).copy()
    missing = np.flatnonzero(pc.and_(pc.is_null(parsed), pc.is_valid(values)).to_numpy(False))
    for row in missing.tolist():
        out[row] = micros(parse_time(values[row].as_py()))
    return out


def batch(
    kind: str, ids: Sequence[str] | pa.Array, texts: Sequence[str] | pa.Array,
    created: np.ndarray, authored: np.ndarray | None = None, community: pa.Array | None = None,
) -> RecordBatch:  # fmt: skip
    text = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.large_string())
    return RecordBatch(
        kind=kind,
        ids=ids if isinstance(ids, pa.Array) else pa.array(ids, pa.string()),
        text=text,
        created=created,
        authored=np.ones(len(text), bool) if authored is None else authored,
        community=community,
    )


class DateChecks:
    """Nothing dated after the export, nothing before the account existed."""

    def __init__(self, export_time: datetime | None, registered_at: datetime | None) -> None:
        self.export_time, self.registered_at = export_time, registered_at
        self._late, self._early = 0, 0
        self._first_late: str | None = None
        self._first_early: str | None = None

    def observe(self, records: RecordBatch) -> None:
        known = records.created != NO_TIME
        if self.export_time is not None:
            late = np.flatnonzero(known & (records.created > micros(self.export_time)))
            if late.size and self._first_late is None:
                self._first_late = dated(int(records.created[late[0]]))
            self._late += late.size
        if self.registered_at is not None:
            early = np.flatnonzero(known & (records.created < micros(self.registered_at)))
            if early.size and self._first_early is None:
                self._first_early = dated(int(records.created[early[0]]))
            self._early += early.size

    def result(self) -> list[Check]:
        if self.export_time is None:
            return [failed("dates", "the export time is missing or unreadable")]
        exported = f"{self.export_time:%Y-%m-%d %H:%M}"
        checks = [
            failed("no items after export", f"{self._late} items dated after the export time "
                   f"{exported}, the first dated {self._first_late}")
            if self._late
            else passed("no items after export", f"every item is dated before {exported}")
        ]  # fmt: skip
        if self.registered_at is None:
            checks.append(not_available("no items before registration", "no registration date"))
        else:
            checks.append(
                failed("no items before registration", f"{self._early} items dated before the "
                       f"account was registered, the first dated {self._first_early}")
                if self._early
                else passed("no items before registration",
                            "every item is dated after registration")
            )  # fmt: skip
        return checks
