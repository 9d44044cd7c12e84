"""Quality of each record, in [0, 1], computed for a whole batch at once.

0.0  empty; "[deleted]"/"[removed]"; a repost (retweet) of someone else's text;
     the same text 3+ times in the export (bot-like); a run of one character;
     a copy of an earlier record in the same export
0.3  under 3 words
0.7  under 10 words
1.0  otherwise
x0.1 word salad or filler: at least 8 words that read as no language does (see
     validators.naturalness): it stays a record, worth a tenth

`features` reads what each record alone decides (per batch, as records stream);
`assess` adds what needs the whole export (how often each text occurs) at the end.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from validators.fingerprints import utf8_buffers as _utf8
from validators.naturalness import unnatural
from validators.report import RecordBatch

DELETED = pa.array(["[deleted]", "[removed]", "deleted", "removed"])
NORMALISED_DELETED = pa.array(["deleted", "removed"])
BOT_REPEATS = 3
UNNATURAL_FACTOR = 0.1
SPACE = 32


@dataclass
class Features:
    """Per record: no value whatever else holds (empty, deleted, repost, one character
    repeated), and the word count of the normalised text."""

    worthless: np.ndarray  # bool
    words: np.ndarray  # int32
    unnatural: np.ndarray  # bool: word salad or filler


def features(records: RecordBatch, normalised: pa.Array) -> Features:
    chars = pc.utf8_length(normalised).to_numpy(zero_copy_only=False)
    # "[deleted]" normalises to "deleted": only such rows need the raw text looked at.
    maybe = np.flatnonzero(pc.is_in(normalised, value_set=NORMALISED_DELETED).to_numpy(False))
    deleted = np.zeros(chars.size, bool)
    if maybe.size:
        raw = pc.utf8_lower(pc.utf8_trim_whitespace(pc.take(records.text, pa.array(maybe))))
        deleted[maybe] = pc.is_in(raw, value_set=DELETED).to_numpy(zero_copy_only=False)
    offsets, data = _utf8(normalised)  # spaces counted on the bytes: one pass
    spaces = np.cumsum(data == SPACE, dtype=np.int64)
    ends = np.concatenate(([0], spaces))[offsets]
    words = np.diff(ends) + 1
    worthless = (chars == 0) | deleted | ~records.authored | _one_character(normalised, chars)
    words = np.where(chars == 0, 0, words).astype(np.int32)
    return Features(worthless, words, unnatural(normalised, words))


def _one_character(normalised: pa.Array, chars: np.ndarray) -> np.ndarray:
    """20+ characters drawn from at most two, spaces aside ("aaaa...", "ha ha ha ...")."""
    out = np.zeros(chars.size, bool)
    rows = np.flatnonzero(chars >= 20)
    if not rows.size:
        return out
    texts = pc.take(normalised, pa.array(rows))
    ascii_rows = pc.string_is_ascii(texts).to_numpy(zero_copy_only=False)
    if ascii_rows.any():  # bytes are characters: straight from the buffer
        plain = pc.filter(texts, pa.array(ascii_rows))
        offsets, data = _utf8(plain)
        out[rows[ascii_rows]] = _at_most_two(data, offsets)
    if not ascii_rows.all():  # one decode of the rest, then code points as integers
        wide = rows[~ascii_rows]
        joined = "".join(pc.filter(texts, pa.array(~ascii_rows)).to_pylist())
        points = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
        out[wide] = _at_most_two(points, np.concatenate(([0], np.cumsum(chars[wide]))))
    return out


def _at_most_two(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per segment of `points`: are all but spaces one of two values (its min and max)?"""
    starts, lengths = offsets[:-1], np.diff(offsets)
    spaces = points == SPACE
    top = np.iinfo(points.dtype).max
    low = np.minimum.reduceat(np.where(spaces, points.dtype.type(top), points), starts)
    high = np.maximum.reduceat(np.where(spaces, points.dtype.type(0), points), starts)
    other = ~spaces & (points != np.repeat(low, lengths)) & (points != np.repeat(high, lengths))
    return np.asarray(np.add.reduceat(other, starts) == 0, bool)


def assess(
    worthless: np.ndarray, words: np.ndarray, text_hashes: np.ndarray, salad: np.ndarray
) -> np.ndarray:
    """Each record's quality (float32), given every record of the export in order."""
    _, first, inverse, counts = np.unique(
        text_hashes, return_index=True, return_inverse=True, return_counts=True
    )
    copies = counts[inverse]
    seen_before = first[inverse] != np.arange(text_hashes.size)
    zero = worthless | (copies >= BOT_REPEATS) | seen_before
    value = np.where(words < 3, 0.3, np.where(words < 10, 0.7, 1.0)).astype(np.float32)
    value[salad] *= UNNATURAL_FACTOR
    value[zero] = 0.0
    return value
