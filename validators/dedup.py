"""The persistent dedup index: every accepted record's exact fingerprint and LSH band
keys, plus which wallet each platform account is bound to. SQLite, one file. Accounts
are kept as a hash of (source, account id): no account name is written to disk.

`check` only reads; `commit` records an accepted export in one transaction, so a crash
leaves either all of it or none of it.
"""

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

SCHEMA = """
CREATE TABLE IF NOT EXISTS exact (fingerprint BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (band_key INTEGER PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bindings (
    account_hash BLOB PRIMARY KEY,
    wallet TEXT NOT NULL
) WITHOUT ROWID;
"""
LOOKUP_CHUNK = 500
T = TypeVar("T", bytes, int)


@dataclass(frozen=True)
class RecordKeys:
    fingerprint: bytes
    band_keys: Sequence[int]


class DedupIndex:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def known_fingerprints(self, fingerprints: Iterable[bytes]) -> set[bytes]:
        return self._present("exact", "fingerprint", list(fingerprints))

    def known_band_keys(self, keys: Iterable[int]) -> set[int]:
        return self._present("bands", "band_key", list(keys))

    def _present(self, table: str, column: str, values: list[T]) -> set[T]:
        found: set[T] = set()
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = values[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    @staticmethod
    def account_hash(source: str, account_id: str) -> bytes:
        return hashlib.sha256(f"{source}\0{account_id}".encode()).digest()

    def bound_wallet(self, source: str, account_id: str) -> str | None:
        row = self._db.execute(
            "SELECT wallet FROM bindings WHERE account_hash = ?",
            (self.account_hash(source, account_id),),
        ).fetchone()
        return None if row is None else str(row[0])

    def commit(
        self, records: Iterable[RecordKeys], binding: tuple[bytes, str] | None = None
    ) -> None:
        """Record an accepted export's records (and its account binding) atomically."""
        records = list(records)
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO exact VALUES (?)", ((r.fingerprint,) for r in records)
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO bands VALUES (?)",
                ((key,) for r in records for key in r.band_keys),
            )
            if binding is not None:  # (account_hash(...), wallet)
                self._db.execute("INSERT OR IGNORE INTO bindings VALUES (?, ?)", binding)

    def record_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM exact").fetchone()[0])

    def close(self) -> None:
        self._db.close()
