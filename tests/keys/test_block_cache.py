"""Key release asks the chain for the block number once per poll interval, not per
request; a grant is read from the chain once per block and account, whichever API
process asks first, and the others take its answer from the database."""

import threading
import time
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.grants import Grant, SharedGrants
from dao_service.models import GrantSnapshot


class CountingEth:
    def __init__(self) -> None:
        self.block_calls = 0
        self.block = 7

    @property
    def block_number(self) -> int:
        self.block_calls += 1
        return self.block


def polling_chain(eth: CountingEth, poll: float) -> DaoChain:
    chain = DaoChain.__new__(DaoChain)  # only the parts latest_block() uses
    chain.w3 = SimpleNamespace(eth=eth)  # type: ignore[assignment]
    chain.block_poll_seconds = poll
    chain._block, chain._block_checked_at = 0, float("-inf")
    chain._block_lock = threading.Lock()
    return chain


def test_requests_within_a_poll_interval_make_no_chain_round_trip() -> None:
    eth = CountingEth()
    chain = polling_chain(eth, poll=0.3)
    assert chain.polled_block() is None  # never polled: time to ask
    assert [chain.latest_block() for _ in range(100)] == [7] * 100
    assert eth.block_calls == 1 and chain.polled_block() == 7
    eth.block = 8  # a new block: seen after the interval
    time.sleep(0.35)
    assert chain.polled_block() is None
    assert chain.latest_block() == 8 and eth.block_calls == 2


def test_no_interval_asks_every_time() -> None:
    eth = CountingEth()
    chain = polling_chain(eth, poll=0.0)
    chain.latest_block()
    chain.latest_block()
    assert eth.block_calls == 2


class CountingGrants:
    """A chain whose grant answers are counted (and can change)."""

    def __init__(self) -> None:
        self.block, self.calls = 7, 0
        self.answer: Grant = (True, 2_000_000_000, False)

    def latest_block(self) -> int:
        return self.block

    def polled_block(self) -> int | None:
        return self.block

    def grant_at(self, dataset_id: int, account: str, block: int) -> Grant:
        assert block == self.block
        self.calls += 1
        return self.answer


def test_one_chain_question_per_block_and_account_across_processes(
    sessions: sessionmaker[Session],
) -> None:
    chain = CountingGrants()
    # Two API processes: each its own memory, one database.
    first, second = (
        SharedGrants(sessions.kw["bind"], lambda: chain),
        SharedGrants(sessions.kw["bind"], lambda: chain),
    )
    for _ in range(50):
        assert first.grant(1, "0xabc") == (True, 2_000_000_000, False)
        assert second.grant(1, "0xabc") == (True, 2_000_000_000, False)
    assert chain.calls == 1  # the second process read the first one's answer
    assert first.remembered(1, "0xabc") == (True, 2_000_000_000, False)
    assert first.remembered(1, "0xdef") is None  # never asked here

    second.grant(1, "0xdef")  # another account is another question
    assert chain.calls == 2

    chain.block, chain.answer = 8, (False, 2_000_000_000, True)  # revoked in block 8
    assert first.remembered(1, "0xabc") is None  # an answer of block 7 is not reused
    assert first.grant(1, "0xabc") == (False, 2_000_000_000, True)
    assert second.grant(1, "0xabc") == (False, 2_000_000_000, True)
    assert chain.calls == 3


def test_a_process_behind_by_a_block_takes_the_newer_answer(
    sessions: sessionmaker[Session],
) -> None:
    chain = CountingGrants()
    chain.block = 9
    SharedGrants(sessions.kw["bind"], lambda: chain).grant(1, "0xabc")
    chain.block, chain.answer = 8, (True, 1, True)  # a process still at block 8
    lagging = SharedGrants(sessions.kw["bind"], lambda: chain)
    assert lagging.grant(1, "0xabc") == (True, 2_000_000_000, False) and chain.calls == 1
    chain.block = 9
    assert SharedGrants(sessions.kw["bind"], lambda: chain).grant(1, "0xabc") == (
        True,
        2_000_000_000,
        False,
    )


def test_an_account_never_granted_is_not_shared(sessions: sessionmaker[Session]) -> None:
    """Anyone can ask about any wallet: such answers stay in memory, not in the table."""
    chain = CountingGrants()
    chain.answer = (False, 0, False)
    engine = sessions.kw["bind"]
    for _ in range(3):
        assert SharedGrants(engine, lambda: chain).grant(1, "0xstranger") == (False, 0, False)
    assert chain.calls == 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GrantSnapshot)) == 0
