"""Quality of each record, in [0, 1], with the reason for its value.

0.0  empty; "[deleted]"/"[removed]"; a repost (retweet) of someone else's text;
     the same text 3+ times in the export (bot-like); a run of one character;
     a copy of an earlier record in the same export
0.3  under 3 words
0.7  under 10 words
1.0  otherwise
"""

from collections import Counter
from dataclasses import dataclass

from validators.report import Record

DELETED = {"[deleted]", "[removed]", "deleted", "removed"}
BOT_REPEATS = 3


@dataclass(frozen=True)
class RecordQuality:
    value: float
    reason: str


def assess(records: list[Record], normalised: list[str]) -> list[RecordQuality]:
    counts = Counter(normalised)
    seen: set[str] = set()
    out = []
    for record, text in zip(records, normalised, strict=True):
        out.append(_one(record, text, counts[text], text in seen))
        seen.add(text)
    return out


def _one(record: Record, text: str, copies: int, seen_before: bool) -> RecordQuality:
    raw = record.text.strip().lower()
    if not text:
        return RecordQuality(0.0, "empty")
    if raw in DELETED:
        return RecordQuality(0.0, "deleted or removed")
    if not record.authored_by_account:
        return RecordQuality(0.0, "someone else's text (repost)")
    if copies >= BOT_REPEATS:
        return RecordQuality(0.0, f"bot-like: the same text {copies} times")
    if len(text) >= 20 and len(set(text.replace(" ", ""))) <= 2:
        return RecordQuality(0.0, "bot-like: one repeated character")
    if seen_before:
        return RecordQuality(0.0, "duplicate within the export")
    words = len(text.split())
    if words < 3:
        return RecordQuality(0.3, "under 3 words")
    if words < 10:
        return RecordQuality(0.7, "under 10 words")
    return RecordQuality(1.0, "substantive")
