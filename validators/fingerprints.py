"""Record fingerprints, computed a batch of records at a time without per-record Python:
exact (BLAKE3 of the normalised text) and near-duplicate (LSH band keys of a one-
permutation MinHash).

Normalisation (pyarrow compute, one pass per step over the whole batch) makes trivial
edits collide: Unicode NFKC, case folding, URLs and everything that is not a letter,
digit or underscore dropped, whitespace collapsed.

The sketch is one-permutation hashing with optimal densification (Shrivastava, ICML
2017): each character 5-gram of the normalised UTF-8 is hashed once, the hash picks one
of 132 bins and the bin keeps its minimum; an empty bin borrows the value of another
bin chosen by a fixed pseudo-random probe sequence, so that the collision probability of
each bin stays the Jaccard similarity. 126 of the bins make 21 bands of 6 rows: two
records sharing a band key are near duplicates (probability ~1.0 at Jaccard 0.9, ~0.98
at 0.75, ~0.28 at 0.5, ~0.005 at 0.25). Versus the previous 120-permutation MinHash (20
bands) this is two multiplies per shingle instead of 120; OPH's densified bins vary
more on short texts, which the 21st band makes up for (bench/near_dup.py: on 60,000
labelled pairs, as many false positives and fewer misses). The band keys differ: a new
index format.
"""

import hashlib
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from blake3 import blake3

SKETCH = "oph-5gram-132bins-21x6"  # named in the index: a changed sketch is a new index version
BANDS = 21
ROWS = 6
BINS = 132
SHINGLE = 5
FINGERPRINT_BYTES = 16
EMPTY = np.uint32(0xFFFFFFFF)

# URLs, then everything not a letter, digit or underscore (whitespace too), as one run
# per match: each run becomes one space. URLs end at whitespace as Python's \s sees it.
_NOT_SPACE = r"[^\s\p{Z}\x{0b}\x{1c}-\x{1f}\x{85}]"
_DROPPED = rf"(?:https?://{_NOT_SPACE}+|www\.{_NOT_SPACE}+|[^\p{{L}}\p{{N}}_])+"
_HASH = np.uint64(0x9E3779B97F4A7C15 << 24 & (1 << 64) - 1)  # x * 2^24: the 5 low bytes only
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_BAND_SALT = np.arange(BANDS, dtype=np.uint64) * np.uint64(0x165667B19E3779F9)
_PROBES = np.random.default_rng(0x0DA7ADA0).integers(0, BINS, size=(1024, BINS), dtype=np.int64)


def normalise(text: pa.Array) -> pa.Array:
    """The normalised form of each text of a string array."""
    text = _fold(text)
    text = pc.replace_substring_regex(text, _DROPPED, " ")
    return pc.utf8_trim(text, " ")


def _fold(text: pa.Array) -> pa.Array:
    """Unicode NFKC, then case folding, as Python's `normalize("NFKC", t).casefold()`.

    pyarrow lower-cases ASCII and most of Unicode as Python does, but its NFKC composes
    nothing (22.0: its NFC equals NFD) and it has no case folding; so the non-ASCII rows
    are checked in one C call each (already NFKC? folding = lower casing?), as nearly
    all text is, and only otherwise folded row by row in Python."""
    lowered = pc.utf8_lower(text)
    rows = np.flatnonzero(~pc.string_is_ascii(text).to_numpy(zero_copy_only=False))
    if not rows.size:
        return lowered
    _, data = utf8_buffers(pc.take(text, pa.array(rows)))
    joined = data.tobytes().decode()
    if unicodedata.is_normalized("NFKC", joined) and joined.casefold() == joined.lower():
        return lowered
    texts = pc.take(text, pa.array(rows)).to_pylist()
    folded = [unicodedata.normalize("NFKC", t).casefold() for t in texts]
    mask = np.zeros(len(text), bool)
    mask[rows] = True
    return pc.replace_with_mask(lowered, pa.array(mask), pa.array(folded, lowered.type))


def utf8_buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64, len+1, from 0) and the UTF-8 bytes of a string array, zero-copy."""
    text = text.cast(pa.large_string()) if text.type != pa.large_string() else text
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        text.offset : text.offset + len(text) + 1
    ]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def exact_fingerprints(normalised: pa.Array) -> np.ndarray:
    """(n, 16) uint8: BLAKE3 of each normalised text, truncated to 128 bits."""
    offsets, data = utf8_buffers(normalised)
    view = memoryview(data.data)
    out = bytearray()
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        out += blake3(view[start:end]).digest(FINGERPRINT_BYTES)
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(normalised), FINGERPRINT_BYTES)


def _bin(hashed: np.ndarray) -> np.ndarray:
    """The bin of each hash: its high 32 bits scaled to [0, BINS) (multiply-shift)."""
    return (((hashed >> np.uint64(32)) * np.uint64(BINS)) >> np.uint64(32)).astype(np.int64)


def signatures(normalised: pa.Array) -> np.ndarray:
    """(n, BINS) uint32 densified one-permutation MinHash of each normalised text;
    rows of an empty text stay EMPTY."""
    offsets, data = utf8_buffers(normalised)
    lengths = np.diff(offsets)
    rows = lengths.size
    sig = np.full(rows * BINS + 1, EMPTY, dtype=np.uint32)  # the last cell takes the discards
    trash = rows * BINS
    if data.size:
        padded = np.zeros(data.size + 8, np.uint8)
        padded[: data.size] = data
        windows: np.ndarray = np.ndarray(
            (data.size,), dtype="<u8", buffer=padded.data, strides=(1,)
        )  # the 8 bytes from each position, unaligned: no copy
        hashed = windows * _HASH
        hashed ^= hashed >> np.uint64(29)
        hashed *= _MIX[1]
        hashed ^= hashed >> np.uint64(32)
        cells = np.repeat(np.arange(rows, dtype=np.int64) * BINS, lengths)
        cells += _bin(hashed)
        ends = offsets[1:]
        for back in range(1, SHINGLE):  # windows running past their text's end
            cells[ends[lengths >= back] - back] = trash
        np.minimum.at(sig, cells, hashed.astype(np.uint32))
        short = np.flatnonzero((lengths > 0) & (lengths < SHINGLE))
        if short.size:  # a text of 1-4 bytes is one shingle: itself
            masks = (np.uint64(1) << (lengths[short].astype(np.uint64) * np.uint64(8))) - np.uint64(
                1
            )
            short_hashes = (windows[offsets[short]] & masks) * _HASH
            short_hashes ^= short_hashes >> np.uint64(29)
            short_hashes *= _MIX[1]
            short_hashes ^= short_hashes >> np.uint64(32)
            cell = short * BINS + _bin(short_hashes)
            sig[cell] = short_hashes.astype(np.uint32)
    table = sig[:trash].reshape(rows, BINS)
    _densify(table, lengths > 0)
    return table


def _densify(table: np.ndarray, has_text: np.ndarray) -> None:
    """Fill each empty bin of a non-empty row from the first non-empty bin along its
    fixed probe sequence (the same sequence for every row, so similar texts borrow alike)."""
    row, column = np.nonzero((table == EMPTY) & has_text[:, None])
    for attempt in range(_PROBES.shape[0]):
        if not row.size:
            return
        donor = table[row, _PROBES[attempt, column]]
        found = donor != EMPTY
        table[row[found], column[found]] = donor[found]
        row, column = row[~found], column[~found]
    if row.size:  # vanishingly rare: take the row's smallest value
        masked = np.where(table[row] == EMPTY, 0, table[row])
        table[row, column] = masked.max(axis=1)


def band_keys(normalised: pa.Array) -> np.ndarray:
    """(n, BANDS) int64 LSH band keys (signed, to index in SQLite); rows of empty texts
    are all zero, and `has_text` tells them apart."""
    sig = signatures(normalised)[:, : BANDS * ROWS].astype(np.uint64)
    sig = sig.reshape(len(normalised), BANDS, ROWS)
    keys = np.broadcast_to(_BAND_SALT, (len(normalised), BANDS)).copy()
    for column in range(ROWS):
        keys = (keys ^ sig[:, :, column]) * _MIX[column % 2]
    keys[np.asarray(pc.utf8_length(normalised)) == 0] = 0
    return keys.view(np.int64)


def content_fingerprint(record_fingerprints: np.ndarray, source: str) -> str:
    """The export's fingerprint: SHA-256 of the source and its distinct record
    fingerprints in byte order. The same records give the same value however they are
    packed, zipped or encrypted, so the registry refuses a re-upload on-chain too."""
    high = record_fingerprints[:, :8].copy().view(">u8").ravel()
    low = record_fingerprints[:, 8:].copy().view(">u8").ravel()
    ordered = record_fingerprints[np.lexsort((low, high))]
    distinct = np.ones(len(ordered), bool)
    distinct[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    digest = hashlib.sha256(source.encode())
    digest.update(ordered[distinct].tobytes())
    return "0x" + digest.hexdigest()
