"""Access grants as the chain states them at its latest block, shared by every API process.

A watcher thread per process asks the chain for its block number every
`block_poll_seconds`. When the block changes, it reads again the grants asked for since
the block before (of accounts ever granted: the DAO makes those, not strangers), and only
then says the new block is current: a release never waits for the chain, nor for a burst
of look-ups at a block change (the common release reads memory only). A grant change is
thus seen about a poll interval, plus that reading, after its block. Each answer is
shared through the database (`grant_snapshots`): one chain question per block and
account, whichever process asks first; a process behind by a block takes the newer answer.

A refusal is never answered from memory: it is checked at the chain's newest block, so a
rental that just executed is honoured at once. If the watcher has not read the chain for
a while (`STALE_AFTER_POLLS`), nothing is answered from memory: each release asks the
chain itself, and fails (503) while it is down, rather than go on releasing on answers
that may have been revoked since.
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

log = logging.getLogger("dao_service.keys.grants")


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
        self._asked: set[tuple[int, str]] = set()  # granted accounts asked for lately
        self._block: int | None = None  # the current block, as far as this process knows
        self._confirmed_at = float("-inf")  # when the chain was read for it (monotonic)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failing: str | None = None  # the last failure said, until a poll succeeds
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Watch the chain's block number in the background (until `stop`); with a poll
        interval of 0 nothing is watched or remembered: every release asks the chain."""
        if self.poll_seconds <= 0:
            return
        self._stopping.clear()
        self._watcher = threading.Thread(target=self._watch, name="grant-watcher", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)

    def remembered(self, dataset_id: int, account: str) -> Grant | None:
        """The grant at the current block if this process has it: from memory, touching
        neither the chain nor the database. A refusal is not answered from memory: `grant`
        checks it at the chain's newest block."""
        key = (dataset_id, account)
        remembered = self._memo.get(key)
        if remembered is None or remembered[0] != self._block or not self._fresh():
            return None
        answer = remembered[1]
        if not answer[0]:
            return None
        self._asked.add(key)
        return answer

    def grant(self, dataset_id: int, account: str) -> Grant:
        """The answer from memory, the database or the chain, without waiting for the
        watcher: at the current block if the watcher saw the chain lately, else at the
        chain's newest. A refusal is checked at the newest block: a grant executed since
        the last poll is honoured at once, not a poll interval later."""
        newest = None if self._fresh() else self._chain().latest_block()
        block = self._block if newest is None else newest
        assert block is not None  # fresh: the watcher published one
        answer = self._read(dataset_id, account, block)
        if not answer[0]:
            newest = self._chain().latest_block() if newest is None else newest
            if newest > block:
                answer = self._read(dataset_id, account, newest)
        if answer[1] != 0:  # ever granted: the watcher keeps it current from now on
            self._asked.add((dataset_id, account))
        return answer

    def poll(self) -> None:
        """The watcher's look at the chain: at a new block, the grants asked for since the
        block before are read again, then the block is said to be current. Only accounts
        ever granted are read again (strangers' refusals are checked when asked)."""
        seen_at = time.monotonic()
        block = self._chain().latest_block()
        answers = {}
        if self._block is None or block > self._block:
            asked, self._asked = self._asked, set()
            answers = {key: self._look_up(*key, block) for key in list(asked)[: self.REFRESH_LIMIT]}
        with self._lock:  # the new answers and their block at once: no release misses
            self._remember(block, answers)
            self._block = max(block, self._block or 0)  # never backwards (nodes differ)
            self._confirmed_at = seen_at  # memory is as fresh as this read of the chain

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
            except Exception as exc:  # the chain or the database away: releases ask themselves
                # One line, once until it changes: a polling loop must not flood the log.
                reason = getattr(exc, "user_message", None) or f"{type(exc).__name__}: {exc}"
                if reason != self._failing:
                    log.warning("could not read the chain's block number: %s", reason)
                self._failing = reason
            else:
                if self._failing is not None:
                    log.info("reading the chain's block number again")
                self._failing = None
            self._stopping.wait(self.poll_seconds)

    def _fresh(self) -> bool:
        stale_after = self.poll_seconds * self.STALE_AFTER_POLLS
        return self._block is not None and time.monotonic() - self._confirmed_at < stale_after

    def _remember(self, block: int, answers: dict[tuple[int, str], Grant]) -> None:
        """Called with the lock held; an answer of an older block than the one kept is not."""
        if len(self._memo) + len(answers) > self.MEMO_LIMIT:
            self._memo.clear()
        for key, answer in answers.items():
            kept = self._memo.get(key)
            if kept is None or kept[0] <= block:
                self._memo[key] = (block, answer)

    def _read(self, dataset_id: int, account: str, block: int) -> Grant:
        key = (dataset_id, account)
        remembered = self._memo.get(key)
        if remembered is not None and remembered[0] == block:
            return remembered[1]
        answer = self._look_up(dataset_id, account, block)
        if answer[1] != 0:  # strangers (never granted) are not remembered: anyone can ask
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
