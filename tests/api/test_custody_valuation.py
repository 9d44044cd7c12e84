"""Rental income by measured value when the custody nodes hold the file keys, on the real
service (in-process, its worker embedded), a real anvil, IPFS node and three real node
processes: the settling validator obtains the dataset's keys from the nodes for the
approved valued rental only, values each contribution against the renter's sample, and
afterwards its process, database and spool hold neither a key nor a share."""

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from dao_service.core.config import Settings
from dao_service.core.shares import combine_key
from dao_service.models import Contribution
from tests.api.conftest import wait_for_stage
from tests.api.test_custody_intake import delivered, files_under, live_byte_strings
from tests.api.test_earnings import (
    ALICE,
    BOB,
    ETH,
    GARDEN,
    RENTER,
    ROUTER,
    export,
    rent_with_sample,
    settle,
)
from tests.custody.test_release import node_holdings
from tests.custody.test_settlement_release import audited
from tests.utils.chain import Dao
from tests.utils.custody import VALIDATOR, RunningNodes
from tests.utils.participants import contribute


def test_a_valued_rental_over_node_held_contributions_is_split_by_measured_value(
    custody_nodes: RunningNodes, api: TestClient, dao: Dao, service_settings: Settings
) -> None:
    ids = {}
    for account, texts in ((ALICE, ROUTER), (BOB, GARDEN)):
        response = contribute(api, account, export(texts))
        assert response.status_code == 200, response.text
        assert response.json()["accepted"], response.json()["rejection_reasons"]
        ids[account.address] = wait_for_stage(api, response.json()["id"], "minted")["id"]
        delivered(api, ids[account.address])
    with api.app.state.intake.sessions() as session:  # type: ignore[attr-defined]
        rows = session.scalars(select(Contribution)).all()
    assert len(rows) == 2 and all(row.wrapped_key is None for row in rows)  # the nodes' only
    # Before any rental, no node has released anything to the validator.
    assert not [e for e in audited(custody_nodes, 1) if e[1] == "settlement"]

    payment = 3 * ETH
    rental = rent_with_sample(api, dao, payment)
    amounts, _ = settle(api, rental)
    table = api.get("/api/earnings/1").json()["table"]
    assert table["split_by"] == "measured value" and table["sample_held"] is True
    alice, bob = amounts[ALICE.address], amounts[BOB.address]
    assert alice > 100 * bob  # the contribution matching the renter's sample earns the most
    assert 0 <= payment - (alice + bob) <= 2
    print(f"rental of {payment} wei over node-held keys: matching {alice}, off-topic {bob}")
    values = {row["contributor"]: row["value"] for row in table["contributions"]}
    assert values[ALICE.address] > values[BOB.address] >= 0
    # Each node released its shares to the validator for this rental, and says so.
    for index in (1, 2, 3):
        released = [e for e in audited(custody_nodes, index) if e[1] == "settlement"]
        assert [(who, detail.split(",")[0]) for who, _, detail in released] == [
            (VALIDATOR.address, f"2 shares for settling rental {rental}")
        ]

    # Afterwards the service's process, database and spool hold no key and no share.
    in_memory = live_byte_strings()
    at_rest = files_under(service_settings.data_dir, leaving_out=custody_nodes.settings.custody_dir)
    assert (service_settings.data_dir / "datadao.sqlite3").read_bytes() in at_rest
    assert not any(service_settings.spool_dir.iterdir())
    held = [dict(node_holdings(custody_nodes, i)) for i in (1, 2, 3)]  # only now, the test's
    for contribution_id in ids.values():
        shares = [h[contribution_id] for h in held]
        key = combine_key(shares[:2], 2)
        for secret in (key, *(s.value for s in shares)):
            assert secret not in at_rest
            assert hashlib.sha256(secret).digest() not in in_memory


def test_without_the_nodes_release_a_valued_rental_over_node_held_keys_waits(
    custody_nodes: RunningNodes, api: TestClient, dao: Dao, tmp_path: Path
) -> None:
    """With two of three nodes down, nothing is valued by guesswork: the settlement waits
    (409 naming the nodes) and settles by measured value once they are back."""
    for account, texts in ((ALICE, ROUTER), (BOB, GARDEN)):
        response = contribute(api, account, export(texts))
        delivered(api, wait_for_stage(api, response.json()["id"], "minted")["id"])
    api.app.state.earnings.stop()  # type: ignore[attr-defined]  # settled here, by hand
    custody_nodes.stop(2)
    custody_nodes.stop(3)
    rental = rent_with_sample(api, dao, ETH)
    waiting = api.post(f"/api/rentals/{rental}/settle")
    assert waiting.status_code == 409, waiting.text
    assert "Only 1 of 3 custody nodes released keys" in waiting.json()["detail"]
    assert "custody node 2" in waiting.json()["detail"]
    custody_nodes.start(2)
    amounts, _ = settle(api, rental)
    assert amounts[ALICE.address] > 100 * amounts[BOB.address]


def test_a_sample_the_service_never_received_splits_node_held_contributions_by_score(
    custody_nodes: RunningNodes, api: TestClient, dao: Dao
) -> None:
    """Nothing to value against: the nodes are not asked, and every contribution, its key
    with the nodes, is paid by score."""
    for account, texts in ((ALICE, ROUTER), (BOB, GARDEN)):
        response = contribute(api, account, export(texts))
        delivered(api, wait_for_stage(api, response.json()["id"], "minted")["id"])
    rental_id, proposal_id = dao.rent(RENTER, ETH, sample=(b"\x42" * 32, 1_000))
    dao.vote_through(proposal_id, [ALICE, BOB])
    dao.queue_and_execute(dao.rental_call(rental_id), ALICE)
    amounts, _ = settle(api, rental_id)
    table = api.get("/api/earnings/1").json()["table"]
    assert table["sample_held"] is False and table["split_by"].startswith("score")
    assert amounts[ALICE.address] > 0 and amounts[BOB.address] > 0
    assert 0 <= ETH - sum(amounts.values()) <= 2
    assert not [e for i in (1, 2, 3) for e in audited(custody_nodes, i) if e[1] == "settlement"]


def test_past_its_settlement_window_a_rental_is_not_asked_for(
    custody_nodes: RunningNodes, api: TestClient, dao: Dao
) -> None:
    """After the window anyone may split the income by score; the service does not ask the
    nodes (who would refuse, and hold off a service that asked again every poll)."""
    response = contribute(api, ALICE, export(ROUTER))
    delivered(api, wait_for_stage(api, response.json()["id"], "minted")["id"])
    api.app.state.earnings.stop()  # type: ignore[attr-defined]  # settled here, by hand
    rental = rent_with_sample(api, dao, ETH)
    dao.advance_time(dao.pool.functions.settlementWindow().call() + 1)
    late = api.post(f"/api/rentals/{rental}/settle")
    assert late.status_code == 409, late.text
    assert f"Rental {rental}'s settlement window closed at " in late.json()["detail"]
    assert all(audited(custody_nodes, i) == [] for i in (1, 2, 3))
