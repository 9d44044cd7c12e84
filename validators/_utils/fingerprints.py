"""Record fingerprints: exact (normalised text) and near-duplicate (MinHash LSH bands).

Normalisation makes trivial edits collide: Unicode NFKC, case folding, URLs and
punctuation dropped, whitespace collapsed. MinHash (datasketch) over character
5-grams, 120 permutations, cut into 20 bands of 6 rows: two records sharing any band
are near duplicates. That fires with probability ~1.0 at Jaccard similarity 0.9 (one
word edited in a 40-word comment), ~0.98 at 0.75 (one word in a 13-word comment),
~0.27 at 0.5 and ~0.005 at 0.25, so unrelated texts that merely share common words
rarely collide.
"""

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash

BANDS = 20
ROWS = 6
NUM_PERM = BANDS * ROWS
SHINGLE = 5
# Built once and copied: datasketch draws its permutations afresh for every new MinHash.
_EMPTY = MinHash(num_perm=NUM_PERM, hashfunc=zlib.crc32, scheme="affine32")
_32 = np.uint64(32)
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_BAND_SALT = np.arange(BANDS, dtype=np.uint64) * np.uint64(0x165667B19E3779F9)

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


def shingles(normalised: str) -> set[bytes]:
    data = normalised.encode()
    if len(data) <= SHINGLE:
        return {data} if data else set()
    return {data[i : i + SHINGLE] for i in range(len(data) - SHINGLE + 1)}


def band_keys(normalised: str) -> list[int]:
    """The record's LSH band keys (signed 64-bit, to index in SQLite); [] if no text."""
    grams = shingles(normalised)
    if not grams:
        return []
    minhash = _EMPTY.copy()
    minhash.update_batch(list(grams))
    rows = np.asarray(minhash.hashvalues, dtype=np.uint64).reshape(BANDS, ROWS)
    # Fold each band's 8 x 32-bit values and its index into one 64-bit key (wrapping).
    pairs = rows[:, 0::2] | (rows[:, 1::2] << _32)
    keys = _BAND_SALT.copy()
    for column in range(pairs.shape[1]):
        keys = (keys ^ pairs[:, column]) * _MIX[column % 2]
    return [int(k) for k in keys.view(np.int64)]


def content_fingerprint(record_fingerprints: Iterable[bytes], source: str) -> str:
    """The export's fingerprint: the same records give the same value however they are
    packed, zipped or encrypted, so the registry refuses a re-upload on-chain too."""
    digest = hashlib.sha256(source.encode())
    for fingerprint in sorted(set(record_fingerprints)):
        digest.update(fingerprint)
    return "0x" + digest.hexdigest()
