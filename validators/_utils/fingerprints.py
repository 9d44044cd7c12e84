"""Record fingerprints: exact (normalised text) and near-duplicate (MinHash LSH bands).

Normalisation makes trivial edits collide: Unicode NFKC, case folding, URLs and
punctuation dropped, whitespace collapsed. MinHash over character 5-grams with
datasketch's "affine32" scheme and permutations, 120 of them, cut into 20 bands of 6
rows: two records sharing any band are near duplicates. That fires with probability
~1.0 at Jaccard similarity 0.9 (one word edited in a 40-word comment), ~0.98 at 0.75
(one word in a 13-word comment), ~0.27 at 0.5 and ~0.005 at 0.25, so unrelated texts
that merely share common words rarely collide.

The MinHash values are exactly datasketch's (`datasketch_minhash` computes them the
library's way; a test holds the two equal), but evaluated for many records at once
with numpy instead of shingle by shingle in Python, which is ~20x faster.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import MinHash
from datasketch.minhash import _fmix

BANDS = 20
ROWS = 6
NUM_PERM = BANDS * ROWS
SHINGLE = 5
CHUNK_POSITIONS = 200_000  # shingles evaluated per numpy pass (bounds memory: ~100 MB)

_TEMPLATE = MinHash(num_perm=NUM_PERM, scheme="affine32")
_A, _B = (np.asarray(p, dtype=np.uint32) for p in _TEMPLATE.permutations)
_FOLD = np.uint64(0x9E3779B97F4A7C15)
_32 = np.uint64(32)
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_BAND_SALT = np.arange(BANDS, dtype=np.uint64) * np.uint64(0x165667B19E3779F9)
_MASK64 = (1 << 64) - 1

_URL = re.compile(r"https?://\S+|www\.\S+")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" ", text)
    text = _NON_WORD.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def exact_fingerprint(normalised: str) -> bytes:
    return hashlib.sha256(normalised.encode()).digest()


def shingle_hash(shingle: bytes) -> int:
    """32-bit hash of a shingle (<= 5 bytes): its big-endian value times a 64-bit odd
    constant, high half. Cheap, and numpy computes the same for many shingles at once."""
    return ((int.from_bytes(shingle, "big") * 0x9E3779B97F4A7C15) & _MASK64) >> 32


def shingles(data: bytes) -> list[bytes]:
    if len(data) <= SHINGLE:
        return [data] if data else []
    return [data[i : i + SHINGLE] for i in range(len(data) - SHINGLE + 1)]


def datasketch_minhash(normalised: str) -> np.ndarray:
    """One record's MinHash computed by datasketch itself (reference for the batch path)."""
    minhash = MinHash(
        num_perm=NUM_PERM,
        hashfunc=shingle_hash,
        scheme="affine32",
        permutations=_TEMPLATE.permutations,
    )
    minhash.update_batch(shingles(normalised.encode()))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def minhashes(texts: Sequence[str]) -> np.ndarray:
    """MinHash values (len(texts) x NUM_PERM, uint32) of normalised texts, in batches."""
    out = np.full((len(texts), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    start = 0
    while start < len(texts):
        end, positions = start, 0
        while end < len(texts) and (
            positions == 0 or positions + len(texts[end]) <= CHUNK_POSITIONS
        ):
            positions += max(len(texts[end]), 1)
            end += 1
        _minhash_chunk([t.encode() for t in texts[start:end]], out[start:end])
        start = end
    return out


def _minhash_chunk(encoded: list[bytes], out: np.ndarray) -> None:
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    hashes: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    long_rows = np.flatnonzero(lengths > SHINGLE)
    if long_rows.size:
        data = np.frombuffer(b"".join(encoded[i] for i in long_rows), dtype=np.uint8).astype(
            np.uint64
        )
        packed = np.zeros(data.size - SHINGLE + 1, dtype=np.uint64)
        for offset in range(SHINGLE):
            packed = (packed << np.uint64(8)) | data[offset : offset + packed.size]
        starts = np.concatenate(([0], np.cumsum(lengths[long_rows])[:-1]))
        counts = lengths[long_rows] - SHINGLE + 1
        first = np.cumsum(counts) - counts  # each row's first shingle, in shingle numbering
        positions = np.repeat(starts - first, counts) + np.arange(counts.sum())
        hashes.append(((packed[positions] * _FOLD) >> _32).astype(np.uint32))
        owners.append(np.repeat(long_rows, counts))
    short_rows = [i for i in np.flatnonzero((lengths > 0) & (lengths <= SHINGLE))]
    if short_rows:
        hashes.append(np.array([shingle_hash(encoded[i]) for i in short_rows], dtype=np.uint32))
        owners.append(np.array(short_rows, dtype=np.int64))
    if not hashes:
        return
    hv = _fmix(np.concatenate(hashes), 32)
    owner = np.concatenate(owners)
    order = np.argsort(owner, kind="stable")
    hv, owner = hv[order], owner[order]
    segment_starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    permuted = np.multiply.outer(_A, hv)  # (perm, shingle); uint32 arithmetic wraps: mod 2^32
    permuted += _B[:, None]
    out[owner[segment_starts]] = np.minimum.reduceat(permuted, segment_starts, axis=1).T


def band_keys_batch(normalised: Sequence[str]) -> list[list[int]]:
    """Each record's LSH band keys (signed 64-bit, to index in SQLite); [] for no text."""
    if not normalised:
        return []
    values = minhashes(normalised).astype(np.uint64).reshape(len(normalised), BANDS, ROWS)
    pairs = values[:, :, 0::2] | (values[:, :, 1::2] << _32)
    keys = np.broadcast_to(_BAND_SALT, (len(normalised), BANDS)).copy()
    for column in range(pairs.shape[2]):  # fold each band's rows and index into one key
        keys = (keys ^ pairs[:, :, column]) * _MIX[column % 2]
    signed = keys.view(np.int64)
    return [
        [] if not text else [int(k) for k in row]
        for text, row in zip(normalised, signed, strict=True)
    ]


def band_keys(normalised: str) -> list[int]:
    return band_keys_batch([normalised])[0]


def content_fingerprint(record_fingerprints: Iterable[bytes], source: str) -> str:
    """The export's fingerprint: the same records give the same value however they are
    packed, zipped or encrypted, so the registry refuses a re-upload on-chain too."""
    digest = hashlib.sha256(source.encode())
    for fingerprint in sorted(set(record_fingerprints)):
        digest.update(fingerprint)
    return "0x" + digest.hexdigest()
