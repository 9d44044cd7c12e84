"""The work queue's leases and batched minting, on a real SQLite database with fakes for
the chain and IPFS (the PostgreSQL and multi-process cases: tests/crash/test_workers.py)."""

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import ChainRefused
from dao_service.intake import queue
from dao_service.intake.minting import mint_batch
from dao_service.intake.worker import IntakeWorker
from dao_service.models import Contribution, Stage
from tests.intake.conftest import FakeChain, add_contribution, reload


def test_two_workers_never_claim_the_same_contribution(sessions: sessionmaker[Session]) -> None:
    rows = [add_contribution(sessions) for _ in range(5)]
    add_contribution(sessions, Stage.MINTED)  # finished: never claimed
    first = queue.claim(sessions, "w1", 3, 60)
    second = queue.claim(sessions, "w2", 10, 60)
    assert [c.id for c in first] == [r.id for r in rows[:3]]
    assert [c.id for c in second] == [r.id for r in rows[3:]]
    assert queue.claim(sessions, "w3", 10, 60) == []
    queue.release(sessions, "w1")
    assert [c.id for c in queue.claim(sessions, "w3", 10, 60)] == [r.id for r in rows[:3]]


def test_a_dead_workers_lease_expires_and_its_late_write_is_fenced(
    sessions: sessionmaker[Session],
) -> None:
    add_contribution(sessions)
    [dead] = queue.claim(sessions, "dead", 10, 0.2)  # then the process is killed
    assert queue.claim(sessions, "alive", 10, 60) == []
    time.sleep(0.3)
    [taken] = queue.claim(sessions, "alive", 10, 60)
    assert taken.id == dead.id and taken.lease_owner == "alive"
    with pytest.raises(queue.LeaseLost):  # the old holder wakes up: its write is refused
        queue.advance(sessions, dead, stage=Stage.STORED, cid="bafkstale")
    queue.advance(sessions, taken, stage=Stage.STORED, cid="bafkfresh")
    assert reload(sessions, taken).cid == "bafkfresh"


def test_refused_work_is_put_aside_and_does_not_block_the_queue(
    sessions: sessionmaker[Session],
) -> None:
    stuck = add_contribution(sessions, Stage.STORED, cid="bafk")
    queue.claim(sessions, "w1", 1, 60)
    queue.defer(sessions, stuck, 300, "the chain refused: no")
    queue.release(sessions, "w1")
    later = add_contribution(sessions)
    assert [c.id for c in queue.claim(sessions, "w2", 1, 60)] == [later.id]
    assert reload(sessions, stuck).last_error == "the chain refused: no"


def test_waiting_mints_go_in_one_batch_and_a_refused_one_is_reported_alone(
    sessions: sessionmaker[Session],
) -> None:
    chain = FakeChain()
    rows = [add_contribution(sessions, Stage.STORED, cid=f"bafk{i}") for i in range(4)]
    taken = rows[3]  # its fingerprint is someone else's on-chain
    chain.recorded[bytes.fromhex((taken.fingerprint or "")[2:])] = ("0x" + "99" * 20, "0x01")
    refused = mint_batch(sessions, chain, 3600, rows)
    assert chain.batches == [3] and len(chain.sent) == 3
    assert [(c.id, type(e)) for c, e in refused] == [(taken.id, ChainRefused)]
    minted = [reload(sessions, r) for r in rows[:3]]
    assert {m.stage for m in minted} == {Stage.MINTED}
    assert len({m.tx_hash for m in minted}) == 1  # one transaction
    assert reload(sessions, taken).stage == Stage.STORED


def test_a_batch_the_registry_reverts_is_retried_one_by_one(
    sessions: sessionmaker[Session],
) -> None:
    class RevertingBatches(FakeChain):
        def record_batch(self, signed):  # type: ignore[no-untyped-def]
            raise ChainRefused("RegistryMintLimitExceeded(...)")

    chain = RevertingBatches()
    rows = [add_contribution(sessions, Stage.STORED, cid=f"bafk{i}") for i in range(2)]
    assert mint_batch(sessions, chain, 3600, rows) == []
    assert len(chain.sent) == 2
    assert {reload(sessions, r).stage for r in rows} == {Stage.MINTED}


def test_a_long_step_keeps_its_lease(sessions: sessionmaker[Session]) -> None:
    """A step that runs for several lease lengths (a slow upload) keeps its work: no other
    worker claims it meanwhile, and its write is not fenced off as a lost lease."""
    row = add_contribution(sessions)
    lease = 0.3
    taken_meanwhile: list[int] = []

    def slow_store(contribution: Contribution) -> None:
        for _ in range(6):  # 1.2 s: four lease lengths
            time.sleep(0.2)
            taken_meanwhile.extend(c.id for c in queue.claim(sessions, "other", 10, 60))
        queue.advance(sessions, contribution, stage=Stage.STORED, cid="bafkslow")

    worker = IntakeWorker(sessions, store=slow_store, mint=lambda cs: [], lease_seconds=lease)
    assert worker.process_pending()
    assert taken_meanwhile == []
    stored = reload(sessions, row)
    assert stored.stage == Stage.STORED and stored.cid == "bafkslow"
    assert stored.lease_owner is None  # released when done, free for the next claim


def test_renewal_never_takes_back_a_lease_another_worker_holds(
    sessions: sessionmaker[Session],
) -> None:
    add_contribution(sessions)
    queue.claim(sessions, "stalled", 10, 0.1)
    time.sleep(0.2)
    [taken] = queue.claim(sessions, "alive", 10, 60)
    assert queue.renew(sessions, "stalled", 60) == 0
    assert reload(sessions, taken).lease_owner == "alive"


def test_a_disowned_contribution_is_not_claimed_for_minting(
    sessions: sessionmaker[Session],
) -> None:
    """Attacker's review: a squatter's upload still waiting when the account's owner took
    the account back must not be minted on the squatter's behalf."""
    squatted = add_contribution(sessions, Stage.STORED, cid="bafk")
    with sessions.begin() as session:
        row = session.get(Contribution, squatted.id)
        assert row is not None
        row.disowned_at = datetime.now(UTC)
    honest = add_contribution(sessions)
    assert [c.id for c in queue.claim(sessions, "w1", 10, 60)] == [honest.id]
