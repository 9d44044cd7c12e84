"""The persistent dedup index: every accepted record's exact fingerprint and LSH band
keys, plus which wallet each platform account is bound to. Kept in a SQL database through
SQLAlchemy: a SQLite file of its own (the CLI's `validate`, benchmarks), or the tables
`dedup_*` of the service's database (PostgreSQL in production), which many processes and
machines share. Accounts are kept as a hash of (source, account id): no account name is
written to disk.

The index records its format version and the sketch its band keys come from; an index
of another version is refused with the way out (`datadao index rebuild`), since its
keys would silently never match. Lookups go through an in-memory Bloom filter first
(~2.5 bytes per key): only the keys it cannot rule out (the duplicates, and ~0.3% of
the rest) reach the database. The filter is saved on close and kept current from an
`additions` log (each commit's keys as arrays), so every process sees every other's
commits.

Lookups only read; `commit` records an accepted export in one transaction (the caller's,
when it passes one), so a crash leaves either all of it or none of it. The database, not
a lock, keeps two exports validated at once from both counting the same record: the keys
of the records an export counts as new are inserted without `ON CONFLICT`, so if another
export committed any of them after this one looked, the commit fails (`IndexConflict`)
and the export is validated again against the index as it now is.
"""

import contextlib
import hashlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    false,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from validators.exceptions import ValidatorError
from validators.fingerprints import BANDS, FINGERPRINT_BYTES, SKETCH

FORMAT_VERSION = 3  # 1: sha256, 120-permutation MinHash; 2: the same tables without prefix
METADATA = MetaData()
META = Table(
    "dedup_meta",
    METADATA,
    Column("key", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
)
# On SQLite the key is the table's own B-tree (WITHOUT ROWID, or the rowid itself), so
# each key is written once, not into a table and again into its index.
EXACT = Table(
    "dedup_exact",
    METADATA,
    Column("fingerprint", LargeBinary(16), primary_key=True),
    sqlite_with_rowid=False,
)
BAND_KEYS = Table(
    "dedup_bands",
    METADATA,
    Column(
        "band_key",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
)
# Each commit's keys again, as arrays: the Bloom filter is built from these, and a process
# picks up what other processes committed since it last looked.
ADDITIONS = Table(
    "dedup_additions",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprints", LargeBinary, nullable=False),
    Column("band_keys", LargeBinary, nullable=False),
)
FILTER = Table(
    "dedup_filter",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("through", Integer, nullable=False),  # the last addition it holds
    Column("capacity", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("words", LargeBinary, nullable=False),
)
BINDINGS = Table(
    "dedup_bindings",
    METADATA,
    Column("account_hash", LargeBinary(32), primary_key=True),
    Column("wallet", String(42), nullable=False),
    # Bound by a proof only the account holder can give (the platform's sign-in, or the
    # verification code posted from the account); an unproven binding (the local stack's,
    # or one made before proof was required) passes to the owner who later proves it.
    Column("proven", Boolean, nullable=False, server_default=false()),
)
LOOKUP_CHUNK = 500
INSERT_CHUNK = 10_000
BLOOM_BITS_PER_KEY = 16  # blocked, 5 bits per key: ~1% false positives at capacity
BLOOM_HASHES = 5
_EXACT_SALT = np.uint64(0x5851F42D4C957F2D)  # keeps fingerprints and band keys apart


@dataclass(frozen=True)
class Binding:
    """The wallet an account is bound to; `proven`: by the account holder's proof."""

    wallet: str
    proven: bool


class IndexFormatError(ValidatorError, RuntimeError):
    """The index on disk was written by another version of the validator."""


class IndexConflict(ValidatorError, RuntimeError):
    """Another export committed records this one counted as new after it looked: validate
    it again (the index now has them)."""


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


def file_engine(path: Path | str) -> Engine:
    """A SQLite engine for an index file of its own (":memory:": one shared connection)."""
    if str(path) == ":memory:":
        return create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False}
    )
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    return engine


class DedupIndex:
    """`target`: a path (an index file of its own, created if missing) or an engine whose
    database holds the `dedup_*` tables (the service's, made by its migrations).
    `check_format=False` opens an index of another format only to `replace_with` a new one."""

    def __init__(self, target: Path | str | Engine, *, check_format: bool = True) -> None:
        self._owns_engine = not isinstance(target, Engine)
        self.engine = file_engine(target) if not isinstance(target, Engine) else target
        self.path = str(target) if self._owns_engine else self.engine.url.render_as_string()
        self._bloom: _Bloom | None = None
        self._through = 0  # the last addition the filter holds
        self._dirty_filter = False  # changed since it was last saved
        self._lock = threading.Lock()  # the filter is shared by the threads validating
        if check_format:
            self._check_format()

    def _check_format(self) -> None:
        tables = set(inspect(self.engine).get_table_names())
        if "exact" in tables and "meta" not in tables:
            found = "1 (the 120-permutation MinHash)"
        elif "meta" in tables and META.name not in tables:
            found = "2 (its tables unprefixed)"
        else:
            if self._owns_engine:
                METADATA.create_all(self.engine)
            with self.engine.begin() as connection:
                meta = dict(connection.execute(select(META.c.key, META.c.value)).all())
                if not meta:
                    connection.execute(
                        _insert_ignoring(connection, META),
                        [
                            {"key": "format_version", "value": str(FORMAT_VERSION)},
                            {"key": "sketch", "value": SKETCH},
                        ],
                    )
                    return
            if meta.get("format_version") == str(FORMAT_VERSION) and meta.get("sketch") == SKETCH:
                return
            found = f"{meta.get('format_version')} (sketch {meta.get('sketch')})"
        self.close()
        raise IndexFormatError(
            f"The dedup index {self.path} is format {found}; this validator reads format "
            f"{FORMAT_VERSION} (sketch {SKETCH}). Run `datadao index rebuild` to re-derive it "
            f"from the stored contributions."
        )

    def format(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return dict(connection.execute(select(META.c.key, META.c.value)).all())

    # --- lookups --------------------------------------------------------------------

    def known_fingerprints(self, fingerprints: np.ndarray) -> np.ndarray:
        """For each fingerprint ((n, 16) uint8): is it in the index?"""
        maybe = np.flatnonzero(self._filter().might_contain(_exact_keys(fingerprints)))
        values = [fingerprints[i].tobytes() for i in maybe.tolist()]
        present = self._present(EXACT.c.fingerprint, values)
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
        present = self._present(BAND_KEYS.c.band_key, values)
        out = np.zeros(flat.size, bool)
        out[maybe] = [v in present for v in values]
        return out.reshape(keys.shape)

    def _present(self, column: Any, values: list[Any]) -> set[Any]:
        found: set[Any] = set()
        if not values:
            return found
        with self.engine.connect() as connection:
            for start in range(0, len(values), LOOKUP_CHUNK):
                chunk = values[start : start + LOOKUP_CHUNK]
                found.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
        return found

    def _filter(self) -> _Bloom:
        """The Bloom filter, current with every commit of any process: as saved at the
        last close, else built from the additions, then topped up with later ones."""
        with self._lock:
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
        with self.engine.connect() as connection:
            row = connection.execute(
                select(FILTER.c.through, FILTER.c.capacity, FILTER.c.count, FILTER.c.words)
            ).first()
        if row is None:
            return None
        bloom = _Bloom(int(row[1]))
        words = np.frombuffer(bytes(row[3]), np.uint64)
        if words.size != bloom.words.size:
            return None
        bloom.words, bloom.count, self._through = words.copy(), int(row[2]), int(row[0])
        return bloom

    def _catch_up(self) -> None:
        assert self._bloom is not None
        query = (
            select(ADDITIONS.c.id, ADDITIONS.c.fingerprints, ADDITIONS.c.band_keys)
            .where(ADDITIONS.c.id > self._through)
            .order_by(ADDITIONS.c.id)
        )
        with self.engine.connect() as connection:
            for addition, fingerprints, keys in connection.execute(query):
                self._bloom.add(np.frombuffer(bytes(keys), np.uint64))
                self._bloom.add(_exact_keys(np.frombuffer(bytes(fingerprints), np.uint8).reshape(
                    -1, FINGERPRINT_BYTES)))  # fmt: skip
                self._through = addition
                self._dirty_filter = True

    @staticmethod
    def account_hash(source: str, account_id: str) -> bytes:
        return hashlib.sha256(f"{source}\0{account_id}".encode()).digest()

    def bound_wallet(self, source: str, account_id: str) -> str | None:
        binding = self.binding(source, account_id)
        return None if binding is None else binding.wallet

    def binding(self, source: str, account_id: str) -> Binding | None:
        """The wallet the account is bound to, and whether by proof; None: not bound."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(BINDINGS.c.wallet, BINDINGS.c.proven).where(
                    BINDINGS.c.account_hash == self.account_hash(source, account_id)
                )
            ).first()
        return None if row is None else Binding(str(row[0]), bool(row[1]))

    # --- writes ---------------------------------------------------------------------

    def commit(
        self,
        records: Iterable[RecordKeys] | NewRecords,
        binding: tuple[bytes, str] | None = None,
        *,
        claimed: np.ndarray | None = None,
        connection: Connection | None = None,
        proven: bool = False,
    ) -> None:
        """Record an accepted export's records (and its account binding) atomically, in
        `connection`'s transaction if given. `claimed` marks the records the export counted
        as new: if another commit holds any of their keys, IndexConflict (and the caller's
        transaction must be rolled back). A `proven` binding replaces an unproven one of
        another wallet (the account's owner takes it back)."""
        if not isinstance(records, NewRecords):
            listed = list(records)
            records = NewRecords(
                np.frombuffer(b"".join(r.fingerprint for r in listed), np.uint8).reshape(
                    -1, FINGERPRINT_BYTES
                ),
                np.array([list(r.band_keys) for r in listed], np.int64).reshape(-1, BANDS),
            )
        if connection is None:
            with self.engine.begin() as own:
                self._commit(own, records, binding, claimed, proven)
        else:
            self._commit(connection, records, binding, claimed, proven)

    def _commit(
        self,
        connection: Connection,
        records: NewRecords,
        binding: tuple[bytes, str] | None,
        claimed: np.ndarray | None,
        proven: bool,
    ) -> None:
        if claimed is not None:
            claimed = np.asarray(claimed, bool)
        if claimed is not None and claimed.any():  # first, and without ON CONFLICT
            fingerprints = np.unique(records.fingerprints[claimed], axis=0)
            keys = np.unique(records.band_keys[claimed])
            try:
                with connection.begin_nested():
                    _insert_keys(connection, EXACT, [f.tobytes() for f in fingerprints], False)
                    _insert_keys(connection, BAND_KEYS, keys.tolist(), False)
            except IntegrityError as exc:
                raise IndexConflict(
                    "another export committed records this one counted as new"
                ) from exc
        rest = ~claimed if claimed is not None else np.ones(len(records), bool)
        fingerprints = np.unique(records.fingerprints[rest], axis=0)
        _insert_keys(connection, EXACT, [f.tobytes() for f in fingerprints], True)
        _insert_keys(connection, BAND_KEYS, np.unique(records.band_keys[rest]).tolist(), True)
        if len(records):
            connection.execute(
                ADDITIONS.insert().values(
                    fingerprints=records.fingerprints.tobytes(),
                    band_keys=records.band_keys.tobytes(),
                )
            )
        if binding is not None:  # (account_hash(...), wallet)
            self._bind(connection, binding[0], binding[1], proven)

    @staticmethod
    def _bind(connection: Connection, account_hash: bytes, wallet: str, proven: bool) -> None:
        connection.execute(
            _insert_ignoring(connection, BINDINGS).values(
                account_hash=account_hash, wallet=wallet, proven=proven
            )
        )
        bound, bound_proven = connection.execute(
            select(BINDINGS.c.wallet, BINDINGS.c.proven).where(
                BINDINGS.c.account_hash == account_hash
            )
        ).one()
        same = str(bound).lower() == wallet.lower()
        if same and (bound_proven or not proven):
            return
        if proven and not bound_proven:  # proven now, or taken back from another wallet
            connection.execute(
                BINDINGS.update()
                .where(BINDINGS.c.account_hash == account_hash)
                .values(wallet=wallet, proven=True)
            )
            return
        # Two exports of one account from two wallets, validated at once, both saw the
        # account unbound (or proven by the other): the one that commits second is
        # validated again.
        raise IndexConflict("another wallet bound this export's account meanwhile")

    def record_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(EXACT)).scalar_one())

    def replace_with(self, source: "DedupIndex") -> None:
        """Make this index a copy of `source` (a rebuilt one), in one transaction. The
        additions get this database's own ids; the filter is rebuilt from them on use."""
        with self.engine.begin() as target, source.engine.connect() as rows:
            target.execute(delete(FILTER))
            for table in (META, EXACT, BAND_KEYS, ADDITIONS, BINDINGS):
                target.execute(delete(table))
                columns = [c for c in table.c if c is not ADDITIONS.c.id]
                result = rows.execute(select(*columns).order_by(*table.primary_key)).mappings()
                while batch := result.fetchmany(INSERT_CHUNK):
                    target.execute(table.insert(), [dict(row) for row in batch])
        self._bloom, self._through, self._dirty_filter = None, 0, False

    def close(self) -> None:
        """Save the filter (next open skips building it), then close. A database that is
        gone by then costs only that: the next open builds the filter again."""
        if self._bloom is not None and self._dirty_filter:
            with contextlib.suppress(OperationalError), self.engine.begin() as connection:
                connection.execute(delete(FILTER))
                connection.execute(
                    FILTER.insert().values(
                        id=1,
                        through=self._through,
                        capacity=self._bloom.capacity,
                        count=self._bloom.count,
                        words=self._bloom.words.tobytes(),
                    )
                )
            self._dirty_filter = False
        if self._owns_engine:
            self.engine.dispose()


def _insert_ignoring(connection: Connection, table: Table) -> Any:
    """INSERT that leaves an existing key alone (an exact or near copy indexed before)."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


def _insert_keys(connection: Connection, table: Table, values: list[Any], ignore: bool) -> None:
    """Insert many keys into a one-column table through the driver: one statement over an
    array on PostgreSQL, a C-level executemany on SQLite (tens of thousands per export:
    the ORM's per-row work would hold the write lock for seconds). `ignore`: leave keys
    that exist alone; else a key that exists is an IntegrityError."""
    if not values:
        return
    column = next(iter(table.c)).name
    if connection.dialect.name == "postgresql":
        array = "bytea[]" if column == "fingerprint" else "bigint[]"
        conflict = " ON CONFLICT DO NOTHING" if ignore else ""
        for start in range(0, len(values), INSERT_CHUNK * 10):
            connection.execute(
                text(f"INSERT INTO {table.name} ({column}) "
                     f"SELECT unnest(CAST(:values AS {array})){conflict}"),
                {"values": values[start : start + INSERT_CHUNK * 10]},
            )  # fmt: skip
    else:
        verb = "INSERT OR IGNORE" if ignore else "INSERT"
        connection.exec_driver_sql(
            f"{verb} INTO {table.name} ({column}) VALUES (?)", [(v,) for v in values]
        )
