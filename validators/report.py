"""The one typed report every validation returns, and the pieces it is made of.

Fields that go on-chain (through the validator's attestation): `fingerprint` (the
export's content fingerprint) and `score`. Everything else explains the verdict.
"""

from datetime import datetime
from enum import StrEnum

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


class Record(BaseModel):
    """One item of an export (a post, a comment, a tweet, a row), as the scorer sees it."""

    record_id: str
    kind: str
    text: str
    created_at: datetime | None = None
    authored_by_account: bool = True


class ParsedExport(BaseModel):
    """What a source module extracts from an export, before scoring."""

    source: str
    account_id: str | None = None
    account_name: str | None = None
    export_time: datetime | None = None
    registered_at: datetime | None = None
    records: list[Record]
    authenticity: list[Check]


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
    total_records: int = 0
    new_records: int = 0
    duplicate_records: int = 0
    low_quality_records: int = 0
    authenticity_score: float = 0.0
    ownership_score: float = 0.0
    uniqueness: float = 0.0
    quality: float = 0.0
    score: int = 0
    breakdown: list[ScoreLine] = Field(default_factory=list)
