"""The persistent dedup index: every accepted record's exact fingerprint and LSH band
keys, plus which wallet each platform account is bound to. SQLite, one file. Accounts
are kept as a hash of (source, account id): no account name is written to disk.

The index records its format version and the sketch its band keys come from; an index
of another version is refused with the way out (`datadao index rebuild`), since its
keys would silently never match. Lookups go through an in-memory Bloom filter first
(~2.5 bytes per key): only the keys it cannot rule out (the duplicates, and ~0.3% of
the rest) reach SQLite. The filter is saved on close and kept current from an
`additions` log (each commit's keys as arrays), so every process sharing the file sees
every other's commits.

Lookups only read; `commit` records an accepted export in one transaction, so a crash
leaves either all of it or none of it.
"""

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from validators._utils.fingerprints import BANDS, FINGERPRINT_BYTES, SKETCH
from validators.exceptions import ValidatorError

FORMAT_VERSION = 2  # 1: sha256 fingerprints, 120-permutation MinHash bands (no meta table)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS exact (fingerprint BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (band_key INTEGER PRIMARY KEY) WITHOUT ROWID;
-- Each commit's keys again, as arrays: the Bloom filter is built from these, and a
-- process picks up what other processes committed since it last looked.
CREATE TABLE IF NOT EXISTS additions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprints BLOB NOT NULL,
    band_keys BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS filter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through INTEGER NOT NULL,  -- the last addition it holds
    capacity INTEGER NOT NULL,
    count INTEGER NOT NULL,
    words BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS bindings (
    account_hash BLOB PRIMARY KEY,
    wallet TEXT NOT NULL
) WITHOUT ROWID;
"""
LOOKUP_CHUNK = 500
BLOOM_BITS_PER_KEY = 16  # blocked, 5 bits per key: ~1% false positives at capacity
BLOOM_HASHES = 5
_EXACT_SALT = np.uint64(0x5851F42D4C957F2D)  # keeps fingerprints and band keys apart


class IndexFormatError(ValidatorError, RuntimeError):
    """The index on disk was written by another version of the validator."""


@dataclass(frozen=True)
class RecordKeys:
    fingerprint: bytes
    band_keys: Iterable[int]


@dataclass(frozen=True)
class NewRecords:
    """An export's new records as two arrays (no Python object per record); iterating
    gives RecordKeys, for callers that store them one by one."""

    fingerprints: np.ndarray  # (n, FINGERPRINT_BYTES) uint8
    band_keys: np.ndarray  # (n, BANDS) int64

    @classmethod
    def none(cls) -> "NewRecords":
        return cls(np.zeros((0, FINGERPRINT_BYTES), np.uint8), np.zeros((0, BANDS), np.int64))

    def __len__(self) -> int:
        return len(self.fingerprints)

    def __iter__(self) -> Iterator[RecordKeys]:
        for fingerprint, keys in zip(self.fingerprints, self.band_keys, strict=True):
            yield RecordKeys(fingerprint.tobytes(), keys.tolist())


class _Bloom:
    """A blocked Bloom filter over 64-bit keys that are already uniform hashes: the key's
    high half picks one 64-bit word, six-bit slices of its low half pick the bits in it,
    so a lookup is one memory access, not one per hash."""

    def __init__(self, capacity: int) -> None:
        self.size = np.uint64(max(capacity * BLOOM_BITS_PER_KEY // 64, 1 << 10))
        self.words = np.zeros(int(self.size), np.uint64)
        self.capacity, self.count = capacity, 0

    def _place(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = keys.view(np.uint64) if keys.dtype == np.int64 else keys
        word = (((keys >> np.uint64(32)) * self.size) >> np.uint64(32)).astype(np.int64)
        mask = np.zeros(keys.size, np.uint64)
        for i in range(BLOOM_HASHES):
            mask |= np.uint64(1) << ((keys >> np.uint64(6 * i)) & np.uint64(63))
        return word, mask

    def add(self, keys: np.ndarray) -> None:
        for start in range(0, keys.size, 1 << 20):
            word, mask = self._place(keys[start : start + (1 << 20)])
            np.bitwise_or.at(self.words, word, mask)
        self.count += keys.size

    def might_contain(self, keys: np.ndarray) -> np.ndarray:
        word, mask = self._place(keys)
        return np.asarray((self.words[word] & mask) == mask, bool)


def _exact_keys(fingerprints: np.ndarray) -> np.ndarray:
    head = np.ascontiguousarray(fingerprints[:, :8]).view(np.uint64).ravel()
    return head ^ _EXACT_SALT


class DedupIndex:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._check_format()
        self._bloom: _Bloom | None = None
        self._through = 0  # the last addition the filter holds
        self._dirty_filter = False  # changed since it was last saved

    def _check_format(self) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
        if "exact" in tables and "meta" not in tables:
            found = "1 (the 120-permutation MinHash)"
        elif "meta" in tables:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format_version") == str(FORMAT_VERSION) and meta.get("sketch") == SKETCH:
                self._db.executescript(SCHEMA)  # idempotent
                return
            found = f"{meta.get('format_version')} (sketch {meta.get('sketch')})"
        else:
            with self._db:
                self._db.executescript(SCHEMA)
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format_version", str(FORMAT_VERSION)), ("sketch", SKETCH)],
                )
            return
        self._db.close()
        raise IndexFormatError(
            f"The dedup index {self.path} is format {found}; this validator reads format "
            f"{FORMAT_VERSION} (sketch {SKETCH}). Run `datadao index rebuild` to re-derive it "
            f"from the stored contributions."
        )

    def format(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    # --- lookups --------------------------------------------------------------------

    def known_fingerprints(self, fingerprints: np.ndarray) -> np.ndarray:
        """For each fingerprint ((n, 16) uint8): is it in the index?"""
        maybe = np.flatnonzero(self._filter().might_contain(_exact_keys(fingerprints)))
        values = [fingerprints[i].tobytes() for i in maybe.tolist()]
        present = self._present("exact", "fingerprint", values)
        out = np.zeros(len(fingerprints), bool)
        out[maybe] = [v in present for v in values]
        return out

    def known_band_keys(self, keys: np.ndarray) -> np.ndarray:
        """For each band key (any shape, int64): is it in the index?"""
        flat = keys.ravel()
        bloom = self._filter()
        maybe = np.concatenate(
            [np.zeros(0, np.int64)]
            + [
                start + np.flatnonzero(bloom.might_contain(flat[start : start + (1 << 20)]))
                for start in range(0, flat.size, 1 << 20)
            ]
        )  # a million keys at a time: bounded temporaries
        values = flat[maybe].tolist()
        present = self._present("bands", "band_key", values)
        out = np.zeros(flat.size, bool)
        out[maybe] = [v in present for v in values]
        return out.reshape(keys.shape)

    def _present(self, table: str, column: str, values: list[Any]) -> set[Any]:
        found: set[Any] = set()
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = values[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    def _filter(self) -> _Bloom:
        """The Bloom filter, current with every commit of any process: as saved at the
        last close, else built from the additions, then topped up with later ones."""
        if self._bloom is None:
            self._bloom = self._saved_filter() or _Bloom(self._capacity())
        self._catch_up()
        if self._bloom.count > self._bloom.capacity:  # full: a bigger one
            self._bloom, self._through = _Bloom(self._capacity()), 0
            self._catch_up()
        return self._bloom

    def _capacity(self) -> int:
        records = self.record_count()
        return int(1.25 * records * (BANDS + 1)) + (1 << 16)

    def _saved_filter(self) -> _Bloom | None:
        row = self._db.execute("SELECT through, capacity, count, words FROM filter").fetchone()
        if row is None:
            return None
        bloom = _Bloom(int(row[1]))
        words = np.frombuffer(row[3], np.uint64)
        if words.size != bloom.words.size:
            return None
        bloom.words, bloom.count, self._through = words.copy(), int(row[2]), int(row[0])
        return bloom

    def _catch_up(self) -> None:
        assert self._bloom is not None
        cursor = self._db.execute(
            "SELECT id, fingerprints, band_keys FROM additions WHERE id > ? ORDER BY id",
            (self._through,),
        )
        while rows := cursor.fetchmany(64):
            for addition, fingerprints, keys in rows:
                self._bloom.add(np.frombuffer(keys, np.uint64))
                self._bloom.add(_exact_keys(np.frombuffer(fingerprints, np.uint8).reshape(
                    -1, FINGERPRINT_BYTES)))  # fmt: skip
                self._through = addition
                self._dirty_filter = True

    @staticmethod
    def account_hash(source: str, account_id: str) -> bytes:
        return hashlib.sha256(f"{source}\0{account_id}".encode()).digest()

    def bound_wallet(self, source: str, account_id: str) -> str | None:
        row = self._db.execute(
            "SELECT wallet FROM bindings WHERE account_hash = ?",
            (self.account_hash(source, account_id),),
        ).fetchone()
        return None if row is None else str(row[0])

    # --- writes ---------------------------------------------------------------------

    def commit(
        self, records: Iterable[RecordKeys] | NewRecords, binding: tuple[bytes, str] | None = None
    ) -> None:
        """Record an accepted export's records (and its account binding) atomically."""
        if not isinstance(records, NewRecords):
            listed = list(records)
            records = NewRecords(
                np.frombuffer(b"".join(r.fingerprint for r in listed), np.uint8).reshape(
                    -1, FINGERPRINT_BYTES
                ),
                np.array([list(r.band_keys) for r in listed], np.int64).reshape(-1, BANDS),
            )
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO exact VALUES (?)",
                ((f.tobytes(),) for f in records.fingerprints),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO bands VALUES (?)",
                ((key,) for key in records.band_keys.ravel().tolist()),
            )
            if len(records):
                self._db.execute(
                    "INSERT INTO additions (fingerprints, band_keys) VALUES (?, ?)",
                    (records.fingerprints.tobytes(), records.band_keys.tobytes()),
                )
            if binding is not None:  # (account_hash(...), wallet)
                self._db.execute("INSERT OR IGNORE INTO bindings VALUES (?, ?)", binding)

    def record_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM exact").fetchone()[0])

    def close(self) -> None:
        """Save the filter (next open skips building it), then close."""
        if self._bloom is not None and self._dirty_filter:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO filter VALUES (1, ?, ?, ?, ?)",
                    (self._through, self._bloom.capacity, self._bloom.count,
                     self._bloom.words.tobytes()),
                )  # fmt: skip
        self._db.close()
