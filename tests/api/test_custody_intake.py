"""Intake with custody nodes, on the real service (in-process, its worker embedded), a
real anvil, IPFS node and three real node processes: the key of a stored blob is split
where it is made, and once the nodes hold the shares the service's process, database and
spool hold neither the key nor any share; the renter fetches the dataset through the
nodes with one of them stopped; a withdrawal tells how many nodes destroyed their share."""

import gc
import hashlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eth_keys.datatypes import PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dao_service.chain.attestations import sign_withdrawal
from dao_service.chain.custody_set import CustodyNode
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import DeploymentManifest
from dao_service.client.core import DaoClient, Endpoints
from dao_service.client.custody import CustodyClient
from dao_service.client.fetch import fetch_dataset
from dao_service.core.config import Settings
from dao_service.models import Contribution, PendingShare
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from dao_service.storage.ipfs import IpfsStore
from tests.api.conftest import wait_for_stage
from tests.custody.test_release import node_holdings
from tests.utils.chain import Dao
from tests.utils.custody import RunningNodes, running_nodes
from tests.utils.participants import contribute
from tests.utils.processes import free_ports

ALICE, BOB, RENTER = dev_account(2), dev_account(3), dev_account(5)


def delivered(api: TestClient, contribution_id: str, timeout: float = 30) -> None:
    """Wait until the worker has handed every share of the contribution to its node."""
    sessions = api.app.state.intake.sessions  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            waiting = session.scalar(select(func.count()).select_from(PendingShare))
        if waiting == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{waiting} shares of {contribution_id} still wait for their nodes")


def live_byte_strings() -> set[bytes]:
    """The SHA-256 of every bytes object the process references (from any container,
    object or thread's frame), and of each of its 16- and 32-byte windows if it is short."""
    seen: set[bytes] = set()

    def note(value: Any) -> None:
        if isinstance(value, (bytes, bytearray, memoryview)) and len(value) <= 4096:
            data = bytes(value)
            for size in (16, 32):
                for start in range(0, max(len(data) - size + 1, 0)):
                    seen.add(hashlib.sha256(data[start : start + size]).digest())

    for holder in gc.get_objects():
        note(holder)
        for referent in gc.get_referents(holder):
            note(referent)
    for frame in sys._current_frames().values():
        while frame is not None:
            for value in frame.f_locals.values():
                note(value)
            frame = frame.f_back
    return seen


def files_under(root: Path, leaving_out: Path) -> bytes:
    return b"".join(
        p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and leaving_out not in p.parents
    )


def test_after_intake_the_service_holds_no_key_and_no_share_and_the_renter_fetches_via_nodes(
    custody_nodes: RunningNodes,
    api: TestClient,
    dao: Dao,
    service_settings: Settings,
    ipfs: IpfsStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receipt = wait_for_stage(api, contribute(api, ALICE, reddit_export()).json()["id"], "minted")
    delivered(api, receipt["id"])
    with api.app.state.intake.sessions() as session:  # type: ignore[attr-defined]
        row = session.scalars(select(Contribution)).one()
    assert row.wrapped_key is None  # no custody key wraps it: the nodes hold its shares
    in_memory = live_byte_strings()
    # The service's database, spool, keys and logs (the test's nodes live there too).
    at_rest = files_under(service_settings.data_dir, leaving_out=custody_nodes.settings.custody_dir)
    assert (service_settings.data_dir / "datadao.sqlite3").read_bytes() in at_rest
    assert not any(service_settings.spool_dir.iterdir())

    # Only now the test learns the key (from two nodes) and each node's share.
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    custody_nodes.stop(2)
    nodes = CustodyClient(custody_nodes.node_set)
    signed = nodes.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
    (key,) = [k for r in nodes.release(RENTER, signed, 100) for k in r.keys]
    shares = [dict(node_holdings(custody_nodes, i))[receipt["id"]].value for i in (1, 2, 3)]
    for secret in (key.file_key, *shares):
        assert secret not in at_rest
        assert hashlib.sha256(secret).digest() not in in_memory
    # The check can see a key where one is held: the one this test now holds.
    assert hashlib.sha256(key.file_key).digest() in live_byte_strings()

    client = DaoClient(
        Endpoints(service_settings.chain_rpc_url, "http://127.0.0.1:9",
                  service_settings.manifest_file, ipfs.api_url, tmp_path / "renter")
    )  # fmt: skip
    # The stopped node is among the two asked first (else it goes unnamed: never asked).
    monkeypatch.setattr(CustodyClient, "first_nodes", lambda self: [1, 2])
    result = fetch_dataset(client, RENTER, 1, tmp_path / "rented", ipfs)
    assert [f.contribution_id for f in result.files] == [receipt["id"]]
    assert result.records == receipt["records"]
    assert len(result.unused_nodes) == 1 and "custody node 2" in result.unused_nodes[0]


def test_a_withdrawal_says_how_many_nodes_destroyed_their_share(
    custody_nodes: RunningNodes, api: TestClient, dao: Dao
) -> None:
    receipt = wait_for_stage(api, contribute(api, ALICE, reddit_export()).json()["id"], "minted")
    delivered(api, receipt["id"])
    custody_nodes.stop(3)
    fingerprint = bytes.fromhex(receipt["attestation"]["fingerprint"][2:])
    deadline = dao.now() + 600
    signed = sign_withdrawal(ALICE, fingerprint, deadline, dao.chain_id, dao.registry.address)
    body = {"deadline": deadline, "signature": "0x" + signed.hex()}
    done = api.post(f"/api/contributions/{receipt['id']}/withdraw", json=body)
    assert done.status_code == 200, done.text
    shredded = done.json()["key_destruction"]
    node_3 = custody_nodes.node_set.nodes[2].url
    assert (shredded["nodes"], shredded["threshold"], shredded["needed"]) == (3, 2, 2)
    assert len(shredded["confirmed"]) == 2 and shredded["key_gone"]
    assert shredded["unconfirmed"] == {node_3: "did not answer"}
    assert shredded["summary"] == (
        "2 of 3 custody nodes confirmed destroying their share; the key is gone once 2 have (it is)"
    )
    assert node_holdings(custody_nodes, 1) == [] and node_holdings(custody_nodes, 2) == []
    assert len(node_holdings(custody_nodes, 3)) == 1  # stopped: it still holds one share

    custody_nodes.start(3)  # back: the withdrawal asked again reaches it
    again = api.post(f"/api/contributions/{receipt['id']}/withdraw", json=body).json()
    assert len(again["key_destruction"]["confirmed"]) == 3
    assert node_holdings(custody_nodes, 3) == []


def test_a_node_that_hangs_holds_up_no_other_nodes_deliveries(
    custody_nodes: RunningNodes, api: TestClient
) -> None:
    """Node 3 stopped mid-flight (SIGSTOP: it takes connections and never answers). Each
    contribution reaches nodes 1 and 2 while node 3's courier waits out its timeout; a
    single pass of the worker used to wait 10 s on node 3 for each of its shares, so the
    second contribution waited that long before any node had it."""
    hung = custody_nodes.processes[2].pid
    os.kill(hung, signal.SIGSTOP)
    try:
        for export in (reddit_export(), reddit_export(reddit_spec(seed=2))):
            receipt = wait_for_stage(api, contribute(api, ALICE, export).json()["id"], "minted")
            deadline = time.monotonic() + 6  # less than a node's read timeout (10 s)
            while not all(receipt["id"] in dict(node_holdings(custody_nodes, i)) for i in (1, 2)):
                assert time.monotonic() < deadline, "nodes 1 and 2 waited for the hung node 3"
                time.sleep(0.2)
        assert node_holdings(custody_nodes, 3) == []
    finally:
        os.kill(hung, signal.SIGCONT)
    delivered(api, "both", timeout=60)  # node 3 answers again: it gets its two shares
    assert len(node_holdings(custody_nodes, 3)) == 2


def test_the_services_health_names_the_custody_nodes_not_answering(
    custody_nodes: RunningNodes, api: TestClient
) -> None:
    def custody_part() -> tuple[int, dict[str, Any]]:
        answer = api.get("/healthz")
        return answer.status_code, answer.json()["parts"]["custody nodes"]

    assert custody_part() == (
        200,
        {"status": "up", "address": "3 nodes", "detail": "3 of 3 answer (any 2 give a key)"},
    )
    custody_nodes.stop(3)
    status, part = custody_part()
    node_3 = custody_nodes.node_set.named(3)
    assert (status, part["status"]) == (200, "up")  # two still give every key
    assert part["detail"] == f"2 of 3 answer (any 2 give a key); {node_3}: no answer"
    custody_nodes.stop(2)
    status, part = custody_part()
    assert (status, part["status"]) == (503, "down")
    assert part["detail"].startswith("1 of 3 answer") and node_3 in part["detail"]
    assert custody_nodes.node_set.named(2) in part["detail"]


def test_after_a_rotation_old_contributions_stay_with_their_set_and_new_ones_use_the_new_one(
    custody_nodes: RunningNodes,
    api: TestClient,
    dao: Dao,
    manifest: DeploymentManifest,
    stack_settings: Settings,
    service_settings: Settings,
    ipfs: IpfsStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = wait_for_stage(api, contribute(api, ALICE, reddit_export()).json()["id"], "minted")
    delivered(api, old["id"])
    # A vote sets a new node set: three other nodes (their own keys), M = 2.
    elsewhere = stack_settings.model_copy(
        update={"data_dir": tmp_path / "new-set", "custody_port": free_ports(3)}
    )
    with running_nodes(elsewhere, manifest) as new_nodes:
        assert new_nodes.node_set.epoch == 2
        export = reddit_export(reddit_spec(seed=2, account="bob_redditor"))
        new = wait_for_stage(api, contribute(api, BOB, export).json()["id"], "minted")
        delivered(api, new["id"])
        with api.app.state.intake.sessions() as session:  # type: ignore[attr-defined]
            rows = session.execute(select(Contribution.public_id, Contribution.custody_epoch))
            epochs = {public_id: epoch for public_id, epoch in rows}
        assert epochs == {old["id"]: 1, new["id"]: 2}
        for i in (1, 2, 3):  # each set's nodes hold the shares of their own contributions
            assert [c for c, _ in node_holdings(custody_nodes, i)] == [old["id"]]
            assert [c for c, _ in node_holdings(new_nodes, i)] == [new["id"]]
        assert api.get(f"/api/contributions/{old['id']}").json()["key_custody"]["holding"] == 3

        dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
        custody_nodes.stop(1)  # the old set still gives its keys with M of its nodes
        monkeypatch.setattr(CustodyClient, "first_nodes", lambda self: [1, 2])  # 1 is asked
        client = DaoClient(
            Endpoints(service_settings.chain_rpc_url, "http://127.0.0.1:9",
                      service_settings.manifest_file, ipfs.api_url, tmp_path / "renter")
        )  # fmt: skip
        result = fetch_dataset(client, RENTER, 1, tmp_path / "rented", ipfs)
        assert sorted(f.contribution_id for f in result.files) == sorted([old["id"], new["id"]])
        assert result.records == old["records"] + new["records"] and not result.incomplete
        assert (
            len(result.unused_nodes) == 1
            and custody_nodes.node_set.named(1) in result.unused_nodes[0]
        )


def test_a_node_set_only_the_services_rpc_names_gets_no_key(
    custody_nodes: RunningNodes, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever answers the service's chain RPC names a set 2 of their own nodes (M = 1):
    the nodes of set 1, each reading the chain through its own RPC, do not confirm it,
    so no key is split for it; the upload is refused with a sentence saying why."""
    chain = api.app.state.intake._chain()  # type: ignore[attr-defined]
    # Deployed with its first set, as production is (scripts/deploy.py's parameters).
    first = custody_nodes.node_set
    monkeypatch.setitem(chain.manifest.parameters, "custody_threshold", first.threshold)
    monkeypatch.setitem(
        chain.manifest.parameters, "custody_nodes", [n.model_dump() for n in first.nodes]
    )
    honest = chain.custody_nodes
    thief = custody_nodes.node_set.model_copy(
        update={
            "epoch": 2,
            "threshold": 1,
            "nodes": [
                CustodyNode(
                    url="http://127.0.0.1:9",
                    public_key="04" + PrivateKey(os.urandom(32)).public_key.to_bytes().hex(),
                )
            ],
        }
    )
    monkeypatch.setattr(
        chain, "custody_nodes", lambda epoch=None: thief if epoch in (None, 2) else honest(epoch)
    )
    refused = contribute(api, ALICE, reddit_export())
    assert refused.status_code == 503, refused.text
    assert "confirmed by 0 of the 3 nodes of set 1" in refused.json()["detail"]
    with api.app.state.intake.sessions() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(PendingShare)) == 0
