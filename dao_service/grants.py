"""Access grants as the chain states them at its latest block, shared by every API process.

A watcher thread per process asks the chain for its block number every
`block_poll_seconds`. When the block changes, it reads again the grants asked for since
the block before, and only then says the new block is current: a release never waits for
the chain or for a burst of look-ups at a block change (the common release reads memory
only). A grant change is thus seen within about one poll interval of its block. Each answer
is shared through the database (`grant_snapshots`): one chain question per block and
account, whichever process asks first; a process behind by a block takes the newer answer.

If the watcher cannot reach the chain for a while (`STALE_AFTER_POLLS`), nothing is
answered from memory: each release asks the chain itself, and fails (503) while it is down,
rather than go on releasing on answers that may have been revoked since.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine, bindparam, select

from dao_service.models import GrantSnapshot
from dao_service.storage.database import dialect_insert

Grant = tuple[bool, int, bool]  # (canDecrypt, expiresAt, revoked)

log = logging.getLogger("dao_service.grants")


class GrantSource(Protocol):
    def latest_block(self) -> int: ...

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
    MEMO_LIMIT = 10_000  # (dataset, account) answers kept in memory
    REFRESH_LIMIT = 1_000  # answers the watcher reads again at a new block, at most
    STALE_AFTER_POLLS = 4  # polls missed before memory answers nothing

    def __init__(
        self, engine: Engine, chain: Callable[[], GrantSource], poll_seconds: float = 0.5
    ) -> None:
        self.engine, self._chain, self.poll_seconds = engine, chain, poll_seconds
        self._memo: dict[tuple[int, str], tuple[int, Grant]] = {}
        self._asked: set[tuple[int, str]] = set()  # since the block before
        self._block: int | None = None  # the current block, as far as this process knows
        self._confirmed_at = float("-inf")  # when the chain last confirmed it (monotonic)
        self._lock = threading.Lock()
        self._polling = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Watch the chain's block number in the background (until `stop`)."""
        self._stopping.clear()
        self._watcher = threading.Thread(target=self._watch, name="grant-watcher", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)

    def remembered(self, dataset_id: int, account: str) -> Grant | None:
        """The answer at the current block if this process has it: from memory, touching
        neither the chain nor the database."""
        key = (dataset_id, account)
        remembered = self._memo.get(key)
        if remembered is None or not self._fresh() or remembered[0] != self._block:
            return None
        self._asked.add(key)
        return remembered[1]

    def grant(self, dataset_id: int, account: str) -> Grant:
        """The answer at the current block, from memory, the database or the chain. A
        refusal is checked at the chain's newest block: a grant executed since the last
        poll is honoured at once, not a poll interval later."""
        key = (dataset_id, account)
        self._asked.add(key)
        if not self._fresh():
            self.poll()
        block = self._current()
        answer = self._read(dataset_id, account, block)
        if not answer[0] and self._chain().latest_block() > block:
            self.poll()
            answer = self._read(dataset_id, account, self._current())
        return answer

    def poll(self) -> None:
        """One look at the chain: at a new block, the answers asked for lately are read
        again before the block is said to be current."""
        with self._polling:  # the watcher, or a release that found the block stale
            block = self._chain().latest_block()
            answers = {}
            if self._block is None or block > self._block:
                asked, self._asked = self._asked, set()
                answers = {
                    key: self._look_up(*key, block) for key in list(asked)[: self.REFRESH_LIMIT]
                }
            with self._lock:  # the new answers and their block at once: no release misses
                self._remember(block, answers)
                self._publish(block)

    def _current(self) -> int:
        block = self._block
        assert block is not None  # published by poll()
        return block

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
            except Exception:  # the chain or the database away: releases ask themselves
                log.warning("could not read the chain's block number", exc_info=True)
            self._stopping.wait(self.poll_seconds)

    def _fresh(self) -> bool:
        stale_after = self.poll_seconds * self.STALE_AFTER_POLLS
        return self._block is not None and time.monotonic() - self._confirmed_at <= stale_after

    def _publish(self, block: int) -> None:
        """The block is current (never backwards: behind a load balancer nodes differ by
        a block or two). Called with the lock held."""
        self._block = max(block, self._block or 0)
        self._confirmed_at = time.monotonic()

    def _remember(self, block: int, answers: dict[tuple[int, str], Grant]) -> None:
        if len(self._memo) + len(answers) > self.MEMO_LIMIT:
            self._memo.clear()
        self._memo.update({key: (block, answer) for key, answer in answers.items()})

    def _read(self, dataset_id: int, account: str, block: int) -> Grant:
        key = (dataset_id, account)
        remembered = self._memo.get(key)
        if remembered is not None and remembered[0] == block:
            return remembered[1]
        answer = self._look_up(dataset_id, account, block)
        with self._lock:
            self._remember(block, {key: answer})
        return answer

    def _look_up(self, dataset_id: int, account: str, block: int) -> Grant:
        """The answer at `block` from the database if another process has it, else from
        the chain (then shared)."""
        answer = self._shared(dataset_id, account, block)
        if answer is None:
            answer = self._chain().grant_at(dataset_id, account, block)
            if answer[1] != 0:  # an account never granted is not shared (anyone can ask)
                self._share(dataset_id, account, block, answer)
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
