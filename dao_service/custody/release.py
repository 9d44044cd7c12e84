"""A node's release: the renter's signed request is checked exactly as the service
checks it (`dao_service.keys.release`: signature, chain, expiry, a nonce used once in
this node's own database, the grant read through this node's own RPC at a recent block),
then this node's shares, and only its own, are sealed to the renter's wallet key."""

import sqlite3
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, Select, bindparam, select

from dao_service.custody.node_key import NodeKey
from dao_service.keys.release import KeyReleaseService, ReleasedKey
from dao_service.models import CustodyShare

LIVE_SHARES = (
    select(
        CustodyShare.id,
        CustodyShare.contribution_id,
        CustodyShare.cid,
        CustodyShare.sha256,
        CustodyShare.iv,
        CustodyShare.stored_share,
    )
    .where(CustodyShare.dataset_id == bindparam("dataset_id"), CustodyShare.id > bindparam("after"))
    .order_by(CustodyShare.id)
    .limit(bindparam("rows"))
)
OWN_SHARES = LIVE_SHARES.where(CustodyShare.contributor == bindparam("contributor"))


class DriverQuery:
    """A statement compiled once for SQLite's own driver, run without SQLAlchemy's
    connection and result layers (~0.2 ms of a release's ~0.7 there, a few hundredths
    here). Only for statements whose values SQLAlchemy would not convert on the way in
    or out (integers, strings, blobs): refused otherwise."""

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        self.compiled = statement.compile(dialect=dialect)
        converted = [
            str(b.type)
            for b in self.compiled.binds.values()
            if b.type.dialect_impl(dialect).bind_processor(dialect) is not None
        ] + [
            str(c.key)
            for c in statement.selected_columns
            if c.type.dialect_impl(dialect).result_processor(dialect, None) is not None
        ]
        if converted:
            raise TypeError(f"{', '.join(converted)}: needs SQLAlchemy's conversions")
        self.sql = str(self.compiled)
        self.order = self.compiled.positiontup or []
        self.row: Any = namedtuple("Row", [c.key for c in statement.selected_columns])  # type: ignore[misc]

    def rows(self, connection: sqlite3.Connection, params: dict[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(params)
        cursor = connection.execute(self.sql, [values[name] for name in self.order])
        try:
            return [self.row._make(row) for row in cursor.fetchall()]
        finally:
            cursor.close()


class ShareRelease(KeyReleaseService):
    live_keys = LIVE_SHARES
    own_keys = OWN_SHARES
    custody: NodeKey

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queries: dict[int, DriverQuery] = {}
        self._reader: Any = None  # the loop's own connection to the node's SQLite file

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        super().close()

    def _rows_on_loop(self, statement: Select, params: dict[str, Any]) -> Sequence[Any]:
        if not self._local_database:
            return super()._rows_on_loop(statement, params)
        query = self._queries.get(id(statement))
        if query is None:
            query = self._queries[id(statement)] = DriverQuery(statement, self.engine.dialect)
        if self._reader is None:
            self._reader = self.engine.raw_connection()  # the engine's pragmas and timeout
        connection = self._reader.driver_connection
        rows = query.rows(connection, params)
        if connection.in_transaction:  # a read opens none; none may hold a snapshot
            connection.rollback()
        return rows

    def _encrypt(self, rows: Sequence[Any], public_key: bytes) -> list[ReleasedKey]:
        shares = [self.custody.stored(row.stored_share, row.contribution_id) for row in rows]
        sealed = self.sealing.seal(public_key, [share.value for share in shares])
        return [
            ReleasedKey(row.contribution_id, row.cid, row.sha256, row.iv, item, share.index)
            for row, share, item in zip(rows, shares, sealed, strict=True)
        ]
