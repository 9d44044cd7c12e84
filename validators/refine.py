"""Refinement: an accepted export becomes records of one versioned schema, and only those
are ever stored or rented. Nothing outside the schema survives: not the platform's item
ids, not the `ip` column, not the account's name.

Schema `datadao-records/1` (one row per record):

  record_id               the record's exact fingerprint enciphered under the dataset's
                          key: stable, unique, and neither the platform's id nor a hash
                          anyone could match a guessed text against
  contributor             the author's pseudonym, keyed and stable within the dataset: a
                          renter can group by author without learning who the author is
  source                  reddit, twitter, generic
  kind                    post, comment, tweet, item
  community               where the platform filed it (a subreddit); null if none
  day                     the UTC day it was written (no time of day); null if unknown
  language                ISO 639-1 code by function words (en, de, fr, es, pt, it, nl),
                          `und` where too short or another language
  text                    the text, personal data replaced: emails, phones, IP
                          addresses, card numbers, IBANs by typed placeholders, others'
                          handles by their pseudonyms (validators.scrub)
  quality                 the validator's quality in [0, 1] (validators.quality)
  near_duplicate_cluster  records of one contribution sharing a MinHash LSH band are
                          one cluster; its id is the smallest band key in it enciphered
                          under the dataset's key, so identical texts of different
                          contributions share it, and nobody without the key can compute
                          it from a guessed text
  contribution_id         the contribution the record came with

Records kept: the ones the dataset gains (of some quality, not an exact copy of a record
already in it: `Validation.additions`), self-authored only (a repost has quality 0).
"""

import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from validators.naturalness import FUNCTION_WORDS
from validators.report import NO_TIME, RecordBatch

SCHEMA_NAME = "datadao-records"
SCHEMA_VERSION = 1
SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("contributor", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("community", pa.string()),
        pa.field("day", pa.date32()),
        pa.field("language", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("quality", pa.float32(), nullable=False),
        pa.field("near_duplicate_cluster", pa.int64(), nullable=False),
        pa.field("contribution_id", pa.string(), nullable=False),
    ]
)
# The definition's hash: what the contributor signs, the receipt and the data card show.
SCHEMA_HASH = hashlib.sha256(
    json.dumps(
        {"name": SCHEMA_NAME, "version": SCHEMA_VERSION,
         "fields": [[f.name, str(f.type), f.nullable] for f in SCHEMA]},
        separators=(",", ":"),
    ).encode()
).hexdigest()  # fmt: skip
SCHEMA_ID = f"{SCHEMA_NAME}/{SCHEMA_VERSION} sha256:{SCHEMA_HASH}"

LANGUAGES = tuple(FUNCTION_WORDS)  # en, de, fr, es, pt, it, nl
UNDETERMINED = "und"
MIN_LANGUAGE_WORDS = 3
_WORDS = sorted({w for words in FUNCTION_WORDS.values() for w in words})
_WORD_SET = pa.array(_WORDS)
# Per word: a bit per language it belongs to (bit i: LANGUAGES[i]); the last entry, for
# "no function word", has none.
_WORD_BITS = np.array(
    [sum(1 << i for i, lang in enumerate(LANGUAGES) if w in FUNCTION_WORDS[lang]) for w in _WORDS]
    + [0],
    np.uint8,
)
# The first this many characters decide: a record's opening words name its language as
# well as all of them, and longer texts cost no more.
LANGUAGE_PREFIX = 96
MICROS_PER_DAY = 86_400_000_000


def languages(normalised: pa.Array) -> np.ndarray:
    """Per record of normalised text: an index into LANGUAGES of the language whose
    function words its opening words use most, or -1 (too few words, or none of them).
    One look-up per word, vectorised."""
    out = np.full(len(normalised), -1, np.int8)
    lists = pc.split_pattern(pc.utf8_slice_codeunits(normalised, 0, LANGUAGE_PREFIX), " ")
    tokens = pc.list_flatten(lists)
    if not len(tokens):
        return out
    offsets = lists.offsets.to_numpy()
    counts = np.diff(offsets)
    found = pc.index_in(tokens, value_set=_WORD_SET).fill_null(-1).to_numpy(zero_copy_only=False)
    bits = _WORD_BITS[found]  # -1 picks the last entry: no language
    starts = np.minimum(offsets[:-1], len(tokens) - 1)
    hits = np.zeros((len(LANGUAGES), len(normalised)), np.int32)
    for i in range(len(LANGUAGES)):
        hits[i] = np.add.reduceat((bits >> i) & 1, starts, dtype=np.int32)
    hits[:, counts == 0] = 0
    best = hits.argmax(axis=0)
    score = hits[best, np.arange(len(best))]
    judged = (counts >= MIN_LANGUAGE_WORDS) & (score > 0)
    out[judged] = best[judged]
    return out


class Pseudonyms:
    """Keyed, stable pseudonyms: the same handle of a source always gets the same one
    under one key, and without the key nobody can tell whose it is."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"datadao pseudonyms\0" + key).digest()  # BLAKE2b's key
        self._record_key = hashlib.sha256(b"datadao record ids\0" + key).digest()  # AES-256
        self._cluster_key = hashlib.sha256(b"datadao clusters\0" + key).digest()  # AES-256

    def _digest(self, label: str, size: int) -> str:
        return hashlib.blake2b(label.encode(), key=self._key, digest_size=size).hexdigest()

    def of(self, source: str, handle: str) -> str:
        return "user_" + self._digest(f"handle\0{source}\0{handle.lower()}", 6)

    def cluster_ids(self, smallest_band_keys: np.ndarray) -> np.ndarray:
        """Per record, its cluster's smallest band key enciphered under a key of this one
        (AES): the same cluster the same id, but no id anyone could compute from a
        guessed text without the key."""
        n = len(smallest_band_keys)
        blocks = np.zeros((n, 16), np.uint8)
        blocks[:, :8] = (
            np.ascontiguousarray(smallest_band_keys, np.int64).view(np.uint8).reshape(n, 8)
        )
        encryptor = Cipher(algorithms.AES(self._cluster_key), modes.ECB()).encryptor()
        enciphered = np.frombuffer(encryptor.update(blocks.tobytes()), np.uint8).reshape(n, 16)
        return np.ascontiguousarray(enciphered[:, :8]).view(np.int64).ravel()

    def record_ids(self, fingerprints: np.ndarray) -> pa.Array:
        """Per record, from its exact fingerprint ((n, 16) uint8, unique in the dataset):
        the fingerprint enciphered under a key of this one (AES, one block each), in hex.
        Unique and stable like the fingerprint, but without the key nobody can tell which
        text (or, before scrubbing, which personal data) it came from."""
        encryptor = Cipher(algorithms.AES(self._record_key), modes.ECB()).encryptor()
        blocks = encryptor.update(np.ascontiguousarray(fingerprints, np.uint8).tobytes())
        return pa.array(np.frombuffer(blocks.hex().encode(), dtype="S32")).cast(pa.string())


@dataclass
class RecordParts:
    """The columns refinement needs of each batch as it streams past validation (the
    text unscrubbed until the kept rows are known; in memory only)."""

    kinds: list[pa.Array] = field(default_factory=list)
    texts: list[pa.Array] = field(default_factory=list)
    communities: list[pa.Array] = field(default_factory=list)
    created: list[np.ndarray] = field(default_factory=list)

    def add(self, batch: RecordBatch) -> None:
        n = len(batch)
        self.kinds.append(constant(batch.kind, n))
        self.texts.append(batch.text.cast(pa.large_string()))
        self.communities.append(
            pa.nulls(n, pa.string())
            if batch.community is None
            else batch.community.cast(pa.string())
        )
        self.created.append(batch.created)


@dataclass
class Refinable:
    """What an accepted export's refinement needs, gathered by validation: every
    record's columns, which rows the dataset gains, their quality, language and band keys."""

    source: str
    account_id: str | None
    account_name: str | None
    parts: RecordParts
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    qualities: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    language_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    band_keys: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    fingerprints: np.ndarray = field(default_factory=lambda: np.zeros((0, 16), np.uint8))

    def __len__(self) -> int:
        return int(self.rows.size)

    def table(
        self, contribution_id: str, contributor: str, pseudonyms: Pseudonyms, scrubber: "Scrub"
    ) -> pa.Table:
        """The kept records in the schema. `contributor` is the wallet (the author of a
        source without accounts); `scrubber(texts, own_handles, own_pseudonym)` removes
        personal data."""
        take = pa.array(self.rows, pa.int64())
        column = lambda parts: pa.chunked_array(parts).take(take).combine_chunks()  # noqa: E731
        handle = self.account_name or self.account_id
        author = (
            pseudonyms.of(self.source, handle) if handle else pseudonyms.of("wallet", contributor)
        )
        own = [h for h in {self.account_name, self.account_id} if h]
        texts = scrubber(column(self.parts.texts), own, author)
        kinds = column(self.parts.kinds)
        record_ids = pseudonyms.record_ids(self.fingerprints)
        created = (
            np.concatenate(self.parts.created)[self.rows]
            if self.rows.size
            else np.zeros(0, np.int64)
        )
        known = created != NO_TIME
        days = pa.array(np.where(known, created // MICROS_PER_DAY, 0).astype(np.int32), pa.int32(),
                        mask=~known).cast(pa.date32())  # fmt: skip
        n = len(record_ids)
        language_names = pa.DictionaryArray.from_arrays(
            pa.array(self.language_codes.astype(np.int32) % (len(LANGUAGES) + 1), pa.int32()),
            pa.array([*LANGUAGES, UNDETERMINED], pa.string()),
        ).cast(pa.string())  # -1 (undetermined) is the last entry
        return pa.table(
            [
                record_ids,
                constant(author, n),
                constant(self.source, n),
                kinds,
                pc.if_else(
                    pc.equal(column(self.parts.communities), ""),
                    None,
                    column(self.parts.communities),
                ),
                days,
                language_names,
                texts.cast(pa.string()),
                pa.array(self.qualities, pa.float32()),
                pa.array(pseudonyms.cluster_ids(clusters(self.band_keys)), pa.int64()),
                constant(contribution_id, n),
            ],
            schema=SCHEMA,
        )


def constant(value: str, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()).fill_null(value)


class Scrub(Protocol):
    """The scrubber's call as refinement uses it (validators.scrub.Scrubber.scrub)."""

    def __call__(self, texts: pa.Array, own_handles: list[str], own_pseudonym: str) -> pa.Array: ...


def clusters(band_keys: np.ndarray) -> np.ndarray:
    """Per record (rows of MinHash LSH band keys): the smallest band key of the records
    it is joined to by shared band keys, within these records."""
    n = len(band_keys)
    if n == 0:
        return np.zeros(0, np.int64)
    sources, targets = [np.arange(n)], [np.arange(n)]
    for band in range(band_keys.shape[1]):
        order = np.argsort(band_keys[:, band])  # equal keys end up adjacent: enough
        keys = band_keys[order, band]
        same = np.flatnonzero(keys[1:] == keys[:-1])
        sources.append(order[same])
        targets.append(order[same + 1])
    edges = coo_matrix(
        (np.ones(sum(s.size for s in sources), np.int8),
         (np.concatenate(sources), np.concatenate(targets))), shape=(n, n),
    )  # fmt: skip
    _, labels = connected_components(edges, directed=False)
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(smallest, labels, band_keys.min(axis=1))
    return smallest[labels]


def to_parquet(table: pa.Table) -> bytes:
    """The records as one Parquet file (zstd), the schema's id in its metadata."""
    out = io.BytesIO()
    with_meta = table.replace_schema_metadata({"datadao.schema": SCHEMA_ID})
    pq.write_table(with_meta, out, compression="zstd")
    return out.getvalue()


def from_parquet(data: bytes) -> pa.Table:
    """Refined records back from `to_parquet`'s bytes; ValueError if not of this schema."""
    table = pq.read_table(io.BytesIO(data))
    meta = (table.schema.metadata or {}).get(b"datadao.schema", b"").decode()
    if meta != SCHEMA_ID:
        raise ValueError(f"not refined records of {SCHEMA_ID} (found {meta or 'no schema id'})")
    return table.replace_schema_metadata(None)
