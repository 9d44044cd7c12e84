"""Key release asks the chain for the block number once per poll interval, not per
request, and re-reads a grant only when the block changed."""

import time
from types import SimpleNamespace
from typing import Any

from dao_service.chain.dao import DaoChain


class CountingChain:
    def __init__(self) -> None:
        self.block_calls = self.grant_calls = 0
        self.block = 7

    @property
    def block_number(self) -> int:
        self.block_calls += 1
        return self.block


def chain_with(eth: CountingChain, poll: float) -> DaoChain:
    chain = DaoChain.__new__(DaoChain)  # only the parts grant() uses

    def call(*_: Any, **__: Any) -> Any:
        eth.grant_calls += 1
        return True

    functions = SimpleNamespace(
        canDecrypt=lambda *_: SimpleNamespace(call=call),
        grantOf=lambda *_: SimpleNamespace(call=lambda **__: (2_000_000_000, False)),
    )
    chain.w3 = SimpleNamespace(eth=eth)  # type: ignore[assignment]
    chain.access = SimpleNamespace(functions=functions)  # type: ignore[assignment]
    chain._grant_cache = {}
    chain.block_poll_seconds = poll
    chain._block, chain._block_checked_at = 0, float("-inf")
    import threading

    chain._block_lock = threading.Lock()
    return chain


def test_requests_within_a_poll_interval_make_no_chain_round_trip() -> None:
    eth = CountingChain()
    chain = chain_with(eth, poll=0.3)
    for _ in range(100):
        assert chain.grant(1, "0xabc") == (True, 2_000_000_000, False)
    assert eth.block_calls == 1 and eth.grant_calls == 1
    eth.block = 8  # a new block: seen after the interval, and the grant is read again
    time.sleep(0.35)
    chain.grant(1, "0xabc")
    assert eth.block_calls == 2 and eth.grant_calls == 2


def test_no_interval_asks_every_time() -> None:
    eth = CountingChain()
    chain = chain_with(eth, poll=0.0)
    chain.grant(1, "0xabc")
    chain.grant(1, "0xabc")
    assert eth.block_calls == 2 and eth.grant_calls == 1  # same block: cached grant
