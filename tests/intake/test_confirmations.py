"""Mints that survive the chain: a contribution is minted only once enough blocks confirm
its transaction, and one whose transaction or record the chain lost is sent again, once
(a real SQLite database, a fake chain; the real anvil losing state: tests/crash/)."""

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dao_service.intake import minting, queue
from dao_service.models import Stage
from tests.intake.conftest import FakeChain, add_contribution, reload


def lose_everything_since(chain: FakeChain, before: dict[bytes, tuple[str, str]]) -> None:
    """The chain restarts from older state: records (and their transactions) made since
    `before` are gone."""
    chain.recorded = dict(before)


def test_a_mint_is_minting_until_enough_blocks_confirm_it(
    sessions: sessionmaker[Session],
) -> None:
    chain = FakeChain()
    row = add_contribution(sessions, Stage.STORED, cid="bafk")
    assert minting.mint_batch(sessions, chain, 3600, [row], confirmations=3) == []
    sent = reload(sessions, row)
    assert sent.stage == Stage.MINTING and sent.tx_hash and len(chain.sent) == 1
    assert "1 of 3" in (sent.last_error or "")
    assert queue.claim(sessions, "w", 10, 60) == []  # put aside while it waits
    chain.depth = 3
    minting.mint_batch(sessions, chain, 3600, [sent], confirmations=3)
    done = reload(sessions, row)
    assert done.stage == Stage.MINTED and done.tx_hash == sent.tx_hash
    assert done.last_error is None and len(chain.sent) == 1


def test_a_transaction_the_chain_lost_is_sent_again_exactly_once(
    sessions: sessionmaker[Session],
) -> None:
    chain = FakeChain()
    row = add_contribution(sessions, Stage.STORED, cid="bafk")
    before = dict(chain.recorded)
    minting.mint_batch(sessions, chain, 3600, [row], confirmations=2)
    first = reload(sessions, row)
    first_tx = first.tx_hash
    assert first.stage == Stage.MINTING
    lose_everything_since(chain, before)

    minting.mint_batch(sessions, chain, 3600, [first], confirmations=2)
    again = reload(sessions, row)
    assert again.stage == Stage.MINTING and again.tx_hash != first_tx
    assert len(chain.sent) == 2  # sent again, because the chain no longer had it
    chain.depth = 2
    for _ in range(3):  # later passes confirm it; none sends it a third time
        minting.mint_batch(sessions, chain, 3600, [reload(sessions, row)], confirmations=2)
    done = reload(sessions, row)
    assert done.stage == Stage.MINTED and done.tx_hash == again.tx_hash
    assert len(chain.sent) == 2 and len(chain.recorded) == 1


def test_a_record_another_worker_made_is_confirmed_not_sent_again(
    sessions: sessionmaker[Session],
) -> None:
    chain = FakeChain()
    row = add_contribution(sessions, Stage.MINTING, cid="bafk", tx_hash="0x" + "ee" * 32)
    fingerprint = bytes.fromhex((row.fingerprint or "")[2:])
    chain.recorded[fingerprint] = (row.contributor, "0x" + "dd" * 32)  # not our transaction
    minting.mint_batch(sessions, chain, 3600, [row])
    done = reload(sessions, row)
    assert done.stage == Stage.MINTED and done.tx_hash == "0x" + "dd" * 32
    assert chain.sent == []


def test_a_minted_contribution_whose_record_the_chain_lost_is_minted_again(
    sessions: sessionmaker[Session],
) -> None:
    """The finding: after anvil lost its last second of state, a contribution stayed
    "minted" with a transaction that no longer existed, and nothing checked it again."""
    chain = FakeChain()
    kept = add_contribution(sessions, Stage.STORED, cid="bafkkept")
    minting.mint_batch(sessions, chain, 3600, [kept])
    before = dict(chain.recorded)
    lost = add_contribution(sessions, Stage.STORED, cid="bafklost")
    minting.mint_batch(sessions, chain, 3600, [lost])
    assert reload(sessions, lost).stage == Stage.MINTED
    lose_everything_since(chain, before)

    assert minting.recheck_minted(sessions, chain, 3600) == 1
    assert reload(sessions, kept).stage == Stage.MINTED
    back = reload(sessions, lost)
    assert back.stage == Stage.STORED and back.tx_hash is None
    assert "lost" in (back.last_error or "")
    [claimed] = queue.claim(sessions, "w", 10, 60)
    minting.mint_batch(sessions, chain, 3600, [claimed])
    assert reload(sessions, lost).stage == Stage.MINTED
    assert len(chain.sent) == 3 and len(chain.recorded) == 2
    assert minting.recheck_minted(sessions, chain, 3600) == 0


@pytest.mark.parametrize(("profile", "set_to", "needed"), [
    ("local", 0, 1), ("production", 0, 12), ("production", 3, 3),
])  # fmt: skip
def test_confirmations_needed_by_profile(profile: str, set_to: int, needed: int) -> None:
    from dao_service.core.config import Settings

    settings = Settings(profile=profile, mint_confirmations=set_to)  # type: ignore[arg-type]
    assert settings.confirmations_needed == needed
