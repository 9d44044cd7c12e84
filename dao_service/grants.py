"""Access grants as the chain states them at its latest block, shared by every API process.

A process remembers each answer for the block it was read at; another process reads it
from the database (`grant_snapshots`) instead of asking the chain again. The block number
itself is polled at most every `block_poll_seconds`, so a grant change is seen that long
after its block at the latest, and between two blocks a release makes no chain round trip.
"""

import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine, bindparam, select

from dao_service.models import GrantSnapshot
from dao_service.storage.database import dialect_insert

Grant = tuple[bool, int, bool]  # (canDecrypt, expiresAt, revoked)


class GrantSource(Protocol):
    def latest_block(self) -> int: ...

    def polled_block(self) -> int | None: ...

    def grant_at(self, dataset_id: int, account: str, block: int) -> Grant: ...


SNAPSHOT = select(
    GrantSnapshot.block_number,
    GrantSnapshot.can_decrypt,
    GrantSnapshot.expires_at,
    GrantSnapshot.revoked,
).where(
    GrantSnapshot.dataset_id == bindparam("dataset_id"),
    GrantSnapshot.account == bindparam("account"),
)


class SharedGrants:
    MEMO_LIMIT = 10_000

    def __init__(self, engine: Engine, chain: Callable[[], GrantSource]) -> None:
        self.engine, self._chain = engine, chain
        self._memo: dict[tuple[int, str], tuple[int, Grant]] = {}
        self._lock = threading.Lock()

    def remembered(self, dataset_id: int, account: str) -> Grant | None:
        """The answer this process already has for the current block, if it has it:
        without touching the chain or the database."""
        block = self._chain().polled_block()
        remembered = self._memo.get((dataset_id, account))
        if block is None or remembered is None or remembered[0] != block:
            return None
        return remembered[1]

    def grant(self, dataset_id: int, account: str) -> Grant:
        chain = self._chain()
        block = chain.latest_block()
        key = (dataset_id, account)
        remembered = self._memo.get(key)
        if remembered is not None and remembered[0] == block:
            return remembered[1]
        answer = self._shared(dataset_id, account, block)
        if answer is None:
            answer = chain.grant_at(dataset_id, account, block)
            if answer[1] != 0:  # an account never granted is not shared (anyone can ask)
                self._share(dataset_id, account, block, answer)
        with self._lock:
            if len(self._memo) >= self.MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = (block, answer)
        return answer

    def _shared(self, dataset_id: int, account: str, block: int) -> Grant | None:
        """Another process's answer at this block or a later one (it polled more lately)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                SNAPSHOT, {"dataset_id": dataset_id, "account": account}
            ).first()
        if row is None or row.block_number < block:
            return None
        return row.can_decrypt, row.expires_at, row.revoked

    def _share(self, dataset_id: int, account: str, block: int, answer: Grant) -> None:
        can, expires, revoked = answer
        values = {"block_number": block, "can_decrypt": can, "expires_at": expires,
                  "revoked": revoked}  # fmt: skip
        with self.engine.begin() as connection:
            statement = dialect_insert(self.engine)(GrantSnapshot).values(
                dataset_id=dataset_id, account=account, **values
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[GrantSnapshot.dataset_id, GrantSnapshot.account],
                    set_=values,
                    # a process that polled the block later must not overwrite a newer answer
                    where=GrantSnapshot.block_number < block,
                )
            )
