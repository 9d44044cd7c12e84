"""Key release reads grants from memory between two blocks: a watcher thread asks the
chain for the block number in the background and, at a new block, reads again the grants
asked for lately before it says the block is current. A grant is read from the chain once
per block and account, whichever API process asks first; the others take its answer from
the database. Memory answers nothing once the chain has not been seen for a while."""

import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.keys.grants import Grant, SharedGrants
from dao_service.models import GrantSnapshot

GRANTED: Grant = (True, 2_000_000_000, False)
REVOKED: Grant = (False, 2_000_000_000, True)


class CountingChain:
    """A chain whose block-number and grant answers are counted (and can change)."""

    def __init__(self) -> None:
        self.block, self.block_calls, self.calls = 7, 0, 0
        self._answers: dict[int, Grant] = {}  # block -> the answer from that block on
        self.answer = GRANTED
        self.down = False

    @property
    def answer(self) -> Grant:
        return self._answers[max(self._answers)]

    @answer.setter
    def answer(self, answer: Grant) -> None:  # a change in the current block
        self._answers[self.block] = answer

    def latest_block(self) -> int:
        if self.down:
            raise ConnectionError("the chain does not answer")
        self.block_calls += 1
        return self.block

    def grant_at(self, dataset_id: int, account: str, block: int) -> Grant:
        if self.down:
            raise ConnectionError("the chain does not answer")
        assert block <= self.block
        self.calls += 1
        return self._answers[max(b for b in self._answers if b <= block)]


def test_between_blocks_a_release_reads_memory_only(sessions: sessionmaker[Session]) -> None:
    chain = CountingChain()
    grants = SharedGrants(sessions.kw["bind"], lambda: chain, poll_seconds=0.05)
    assert grants.remembered(1, "0xabc") is None  # never asked
    assert grants.grant(1, "0xabc") == GRANTED
    grants.poll()  # as the watcher does first
    grants.start()
    try:
        began = time.monotonic()
        answers = [grants.remembered(1, "0xabc") for _ in range(10_000)]
        time.sleep(0.3)
        answers += [grants.remembered(1, "0xabc") for _ in range(10_000)]
        elapsed = time.monotonic() - began
    finally:
        grants.stop()
    assert answers == [GRANTED] * 20_000
    assert chain.calls == 1  # the block did not change: the grant was read once
    # the block number was asked by the watcher, once per interval, not per release
    assert 2 <= chain.block_calls <= elapsed / 0.05 + 3


def test_at_a_new_block_the_grants_asked_for_are_read_before_the_block_is_current(
    sessions: sessionmaker[Session],
) -> None:
    chain = CountingChain()
    grants = SharedGrants(sessions.kw["bind"], lambda: chain)
    grants.poll()
    grants.grant(1, "0xabc")
    grants.grant(1, "0xdef")
    assert grants.remembered(1, "0xabc") == GRANTED

    chain.block, chain.answer = 8, REVOKED  # revoked in block 8
    grants.poll()
    # already read at block 8: no release is answered from block 7 once block 8 is
    # current, and the first one after it waits for nothing
    assert grants.remembered(1, "0xabc") is None  # (a refusal is never from memory)
    assert chain.calls == 4  # 2 accounts at block 7, 2 at block 8
    assert grants.grant(1, "0xabc") == REVOKED and chain.calls == 4

    chain.block = 9
    grants.poll()  # 0xdef was not asked for at block 8: not read again
    assert chain.calls == 5
    assert grants.grant(1, "0xdef") == REVOKED and chain.calls == 6


def test_a_grant_executed_since_the_last_poll_is_honoured_at_once(
    sessions: sessionmaker[Session],
) -> None:
    """A renter who fetches right after its rental executed is not refused (nor held off
    for its refusals) for the watcher's poll interval."""
    chain = CountingChain()
    chain.answer = (False, 0, False)
    grants = SharedGrants(sessions.kw["bind"], lambda: chain, poll_seconds=60)
    grants.poll()
    assert grants.grant(1, "0xabc") == (False, 0, False)  # block 7: not yet
    chain.block, chain.answer = 8, GRANTED  # executed in block 8; no poll since
    assert grants.remembered(1, "0xabc") is None  # a refusal is not answered from memory
    assert grants.grant(1, "0xabc") == GRANTED
    grants.poll()
    assert grants.remembered(1, "0xabc") == GRANTED


def test_strangers_refusals_are_not_read_again_at_each_block(
    sessions: sessionmaker[Session],
) -> None:
    """Anyone can sign with a new wallet: its refusal must not join the grants the watcher
    reads again before it can say a new block is current."""
    chain = CountingChain()
    chain.answer = (False, 0, False)
    grants = SharedGrants(sessions.kw["bind"], lambda: chain)
    grants.poll()
    for i in range(100):
        grants.grant(1, f"0x{i:040x}")
    assert chain.calls == 100
    chain.block = 8
    grants.poll()
    assert chain.calls == 100  # the new block was current without reading any of them


def test_memory_answers_nothing_once_the_chain_is_not_seen(
    sessions: sessionmaker[Session],
) -> None:
    """A revocation must not go unseen because the chain stopped answering the watcher."""
    chain = CountingChain()
    grants = SharedGrants(sessions.kw["bind"], lambda: chain, poll_seconds=0.05)
    grants.poll()
    grants.grant(1, "0xabc")
    assert grants.remembered(1, "0xabc") == GRANTED
    chain.down = True
    with pytest.raises(ConnectionError):
        grants.poll()
    time.sleep(0.05 * SharedGrants.STALE_AFTER_POLLS + 0.05)
    assert grants.remembered(1, "0xabc") is None
    with pytest.raises(ConnectionError):  # the release is refused (503), not answered
        grants.grant(1, "0xabc")
    chain.down = False
    assert grants.grant(1, "0xabc") == GRANTED
    grants.poll()
    assert grants.remembered(1, "0xabc") == GRANTED


def test_one_chain_question_per_block_and_account_across_processes(
    sessions: sessionmaker[Session],
) -> None:
    chain = CountingChain()
    # Two API processes: each its own memory, one database.
    first, second = (
        SharedGrants(sessions.kw["bind"], lambda: chain),
        SharedGrants(sessions.kw["bind"], lambda: chain),
    )
    first.poll()
    second.poll()
    for _ in range(50):
        assert first.grant(1, "0xabc") == GRANTED
        assert second.grant(1, "0xabc") == GRANTED
    assert chain.calls == 1  # the second process read the first one's answer
    assert first.remembered(1, "0xabc") == GRANTED
    assert first.remembered(1, "0xdef") is None  # never asked here

    second.grant(1, "0xdef")  # another account is another question
    assert chain.calls == 2

    chain.block, chain.answer = 8, REVOKED  # revoked in block 8
    first.poll()
    second.poll()
    assert chain.calls == 4  # 0xabc once for both processes, 0xdef (asked by second)
    assert first.grant(1, "0xabc") == REVOKED and second.grant(1, "0xabc") == REVOKED
    assert chain.calls == 4


def test_a_process_behind_by_a_block_takes_the_newer_answer(
    sessions: sessionmaker[Session],
) -> None:
    chain = CountingChain()
    chain.block = 9
    SharedGrants(sessions.kw["bind"], lambda: chain).grant(1, "0xabc")
    chain.block, chain.answer = 8, (True, 1, True)  # a process still at block 8
    lagging = SharedGrants(sessions.kw["bind"], lambda: chain)
    assert lagging.grant(1, "0xabc") == GRANTED and chain.calls == 1


def test_the_block_number_never_goes_backwards() -> None:
    """Behind a load balancer, chain nodes differ by a block or two."""

    class Eth:
        numbers = iter([9, 8, 10])

        @property
        def block_number(self) -> int:
            return next(self.numbers)

    chain = DaoChain.__new__(DaoChain)  # only the parts latest_block() uses
    chain.w3 = SimpleNamespace(eth=Eth())  # type: ignore[assignment]
    chain._block = 0
    chain._block_lock = threading.Lock()
    assert [chain.latest_block() for _ in range(3)] == [9, 9, 10]


def test_an_account_never_granted_is_not_shared(sessions: sessionmaker[Session]) -> None:
    """Anyone can ask about any wallet: such answers stay in memory, not in the table."""
    chain = CountingChain()
    chain.answer = (False, 0, False)
    engine = sessions.kw["bind"]
    for _ in range(3):
        assert SharedGrants(engine, lambda: chain).grant(1, "0xstranger") == (False, 0, False)
    assert chain.calls == 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GrantSnapshot)) == 0


def test_a_poll_interval_of_0_remembers_nothing(sessions: sessionmaker[Session]) -> None:
    chain = CountingChain()
    grants = SharedGrants(sessions.kw["bind"], lambda: chain, poll_seconds=0)
    grants.start()  # nothing to watch
    assert grants._watcher is None
    assert grants.grant(1, "0xabc") == GRANTED
    grants.poll()
    assert grants.remembered(1, "0xabc") is None
    chain.block, chain.answer = 8, REVOKED
    assert grants.grant(1, "0xabc") == REVOKED  # seen at once


def test_strangers_do_not_fill_the_memory(sessions: sessionmaker[Session]) -> None:
    """Refusals of wallets never granted are not kept: a flood of new wallets cannot push
    the renters' grants out of memory."""
    chain = CountingChain()
    grants = SharedGrants(sessions.kw["bind"], lambda: chain)
    grants.poll()
    grants.grant(1, "0xrenter")
    chain.answer = (False, 0, False)
    for i in range(50):
        grants.grant(1, f"0x{i:040x}")
    assert len(grants._memo) == 1
    assert grants.remembered(1, "0xrenter") == GRANTED


def test_a_chain_that_stays_away_is_said_once_in_one_line(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    chain = CountingChain()
    chain.down = True
    grants = SharedGrants(sessions.kw["bind"], lambda: chain, poll_seconds=0.01)
    with caplog.at_level("INFO", logger="dao_service.keys.grants"):
        grants.start()
        time.sleep(0.3)  # some 30 failed polls
        chain.down = False
        time.sleep(0.1)
        grants.stop()
    said = [r for r in caplog.records if r.name == "dao_service.keys.grants"]
    assert [r.getMessage() for r in said] == [
        "could not read the chain's block number: ConnectionError: the chain does not answer",
        "reading the chain's block number again",
    ]
    assert all(r.exc_info is None for r in said)  # no traceback
