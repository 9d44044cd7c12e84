"""The one typed report every validation returns, and the pieces it is made of.

Fields that go on-chain (through the validator's attestation): `fingerprint` (the
export's content fingerprint) and `score`. Everything else explains the verdict.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_AVAILABLE = "not_available"


class Check(BaseModel):
    """One explainable check: never a silent default."""

    name: str
    status: CheckStatus
    reason: str


class ItemCheck(BaseModel):
    """One sampled item's verdict. `gone` marks an item the platform no longer shows
    (deleted since the export): counted against the policy, not failed outright."""

    item: str
    status: CheckStatus
    reason: str
    gone: bool = False


NO_TIME = np.iinfo(np.int64).min  # a record without a readable timestamp


@dataclass
class RecordBatch:
    """A run of an export's items (posts, comments, tweets, rows) as columns: no Python
    object per record. `created` is microseconds since the epoch (UTC) or NO_TIME;
    `authored` is False for someone else's text (a repost)."""

    kind: str
    ids: pa.Array
    text: pa.Array
    created: np.ndarray
    authored: np.ndarray
    community: pa.Array | None = None  # where the platform files each item (a subreddit)

    def __len__(self) -> int:
        return len(self.text)

    def rows(self, start: int, end: int) -> "RecordBatch":
        """Records start..end-1 (zero-copy slices)."""
        return RecordBatch(
            kind=self.kind,
            ids=self.ids.slice(start, end - start),
            text=self.text.slice(start, end - start),
            created=self.created[start:end],
            authored=self.authored[start:end],
            community=None if self.community is None else self.community.slice(start, end - start),
        )


class RecordCheck(Protocol):
    """An authenticity check over every record (dates, checksums): it sees each batch as
    the records stream past, then gives its verdict."""

    def observe(self, batch: RecordBatch) -> None: ...

    def result(self) -> list[Check]: ...


@dataclass
class ParsedExport:
    """What a source module reads from an export: who and when up front, the records as
    a stream of batches (read once), and the checks that need every record."""

    source: str
    authenticity: list[Check]
    batches: Iterator[RecordBatch]
    record_checks: list[RecordCheck] = field(default_factory=list)
    account_id: str | None = None
    account_name: str | None = None
    export_time: datetime | None = None
    registered_at: datetime | None = None


class ScoreLine(BaseModel):
    """One step of the score's computation, with the reason for its value."""

    signal: str
    value: float
    reason: str


class ValidationReport(BaseModel):
    """The verdict on one export. `accepted` is False unless every required check passed."""

    accepted: bool = False
    source: str | None = None
    fingerprint: str | None = None
    account_id: str | None = None
    account_name: str | None = None
    rejection_reasons: list[str] = Field(default_factory=list)
    authenticity: list[Check] = Field(default_factory=list)
    ownership: list[Check] = Field(default_factory=list)
    # The platform spot-check's sampled items, each with its verdict.
    platform_items: list[ItemCheck] = Field(default_factory=list)
    # The checks this DAO requires to pass (the rest only weigh in the score).
    required_checks: list[str] = Field(default_factory=list)
    total_records: int = 0
    new_records: int = 0
    duplicate_records: int = 0
    low_quality_records: int = 0
    unnatural_records: int = 0  # of some quality, but word salad or filler (x0.1)
    authenticity_score: float = 0.0
    ownership_score: float = 0.0
    uniqueness: float = 0.0
    quality: float = 0.0
    score: int = 0
    breakdown: list[ScoreLine] = Field(default_factory=list)
