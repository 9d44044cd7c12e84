"""Keys through the custody nodes, on a real anvil with the real contracts and three real
node processes (M = 2): any two give every key, a stopped one is named, and each attack
of issue #24 fails: a stolen node, M - 1 colluding nodes, a node that releases to anyone,
an expired or revoked grant, a replayed or cross-dataset request, another renter's shares."""

import collections
import dataclasses
import itertools
import json
import os
from typing import Any

import ecies
import pytest
import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.custody import CombinedKey, CustodyClient
from dao_service.core.shares import Share, combine_key
from dao_service.custody.app import create_app
from dao_service.custody.node_key import NodeKey
from dao_service.custody.settings import NodeSettings
from dao_service.exceptions import NodesUnavailable, ServiceRefused
from dao_service.stack.custody_nodes import node_env
from tests.utils.chain import Dao
from tests.utils.custody import Blob, RunningNodes, deposit, new_blob, record
from tests.utils.processes import wait_until
from tests.utils.raw_http import declared_only

RENTER, OTHER, CONTRIBUTOR = dev_account(5), dev_account(6), dev_account(7)


def deposited(nodes: RunningNodes, dao: Dao, count: int, dataset_id: int = 1) -> list[Blob]:
    blobs = [new_blob(i) for i in range(1, count + 1)]
    for blob in blobs:
        record(dao, blob, CONTRIBUTOR.address, dataset_id)
        answers = deposit(nodes.node_set, blob, CONTRIBUTOR.address, dataset_id)
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    return blobs


class CountingClient(CustodyClient):
    """The real client, with the nodes it asks first chosen by the test (`first`), and
    the nodes each request went to (`asked`: node index -> requests)."""

    def __init__(self, node_set: CustodyNodeSet, first: list[int] | None = None) -> None:
        super().__init__(node_set)
        self.first, self.asked = first, collections.Counter[int]()

    def first_nodes(self) -> list[int]:
        return self.first if self.first is not None else super().first_nodes()

    def _post(self, index: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.asked[index] += 1
        return super()._post(index, path, body)


def release(
    nodes: RunningNodes,
    dao: Dao,
    account: Any,
    dataset_id: int = 1,
    first: list[int] | None = None,
    **kw: Any,
) -> tuple[list[CombinedKey], CountingClient]:
    client = CountingClient(nodes.node_set, first)
    signed = client.signed_request(account, dataset_id, dao.chain_id, dao.access.address)
    keys = [k for r in client.release(account, signed, kw.get("page_size", 1000)) for k in r.keys]
    return keys, client


def opens(key: bytes, blob: Blob) -> bool:
    try:
        return AESGCM(key).decrypt(blob.iv, blob.ciphertext, None) == blob.plaintext
    except InvalidTag:
        return False


def test_any_two_nodes_give_every_key_in_pages_and_a_stopped_node_is_named(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blobs = deposited(custody_nodes, dao, 7)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    keys, _ = release(custody_nodes, dao, RENTER, page_size=3)  # three rounds of pages
    assert {k.contribution_id: k.file_key for k in keys} == {
        b.contribution_id: b.file_key for b in blobs
    }
    custody_nodes.stop(3)
    keys, client = release(custody_nodes, dao, RENTER, first=[1, 3], page_size=3)
    assert all(opens(k.file_key, b) for k, b in zip(keys, blobs, strict=True))
    assert list(client.failed) == [3]
    assert custody_nodes.node_set.nodes[2].url in client.unused()
    assert "did not answer" in client.unused()


def test_with_two_nodes_stopped_the_release_fails_naming_them(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    deposited(custody_nodes, dao, 2)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    custody_nodes.stop(1)
    custody_nodes.stop(3)
    for first in ([1, 3], [1, 2], [2, 3]):  # both asked first and down, or one of them
        with pytest.raises(NodesUnavailable) as refused:
            release(custody_nodes, dao, RENTER, first=first)
        message = refused.value.user_message
        assert "only 1 of 3 custody nodes answered and 2 are needed" in message
        for index in (1, 3):
            named = f"custody node {index} ({custody_nodes.node_set.nodes[index - 1].url})"
            assert named in message
        assert "custody node 2" not in message


def test_an_expired_or_revoked_grant_gets_nothing_from_honest_nodes(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    deposited(custody_nodes, dao, 1)
    with pytest.raises(ServiceRefused, match="no access grant for dataset 1"):
        release(custody_nodes, dao, RENTER)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 60))
    assert len(release(custody_nodes, dao, RENTER)[0]) == 1  # granted: released
    dao.advance_time(120)
    with pytest.raises(ServiceRefused, match="the access grant for dataset 1 expired at"):
        release(custody_nodes, dao, RENTER)
    dao.as_timelock(dao.access.functions.grantAccess(OTHER.address, 1, 3600))
    dao.as_timelock(dao.access.functions.revokeAccess(OTHER.address, 1))
    with pytest.raises(ServiceRefused, match="the access grant for dataset 1 was revoked"):
        release(custody_nodes, dao, OTHER)


def test_a_replayed_or_cross_dataset_request_gets_nothing(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    deposited(custody_nodes, dao, 1)
    deposited_in_2 = new_blob(50)
    record(dao, deposited_in_2, CONTRIBUTOR.address, dataset_id=2)
    deposit(custody_nodes.node_set, deposited_in_2, CONTRIBUTOR.address, dataset_id=2)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    client = CustodyClient(custody_nodes.node_set)
    signed = client.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
    for node in custody_nodes.node_set.nodes:
        first = requests.post(f"{node.url}/api/keys/release", json=signed, timeout=10)
        assert first.status_code == 200 and len(first.json()["keys"]) == 1
        again = requests.post(f"{node.url}/api/keys/release", json=signed, timeout=10)
        assert again.status_code == 403
        assert again.json()["detail"] == "the challenge was already used"
        fresh = client.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
        crossed = requests.post(
            f"{node.url}/api/keys/release", json={**fresh, "dataset_id": 2}, timeout=10
        )
        assert crossed.status_code == 403
        assert crossed.json()["detail"].startswith("the challenge is signed by 0x")


def test_shares_sealed_for_one_renter_are_useless_to_another(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    (blob,) = deposited(custody_nodes, dao, 1)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    client = CustodyClient(custody_nodes.node_set)
    signed = client.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
    sealed = []
    for node in custody_nodes.node_set.nodes:
        page = requests.post(f"{node.url}/api/keys/release", json=signed, timeout=10).json()
        sealed.append(
            (page["keys"][0]["share_index"], bytes.fromhex(page["keys"][0]["encrypted_share"]))
        )
    for _, item in sealed:
        with pytest.raises(Exception):  # noqa: B017 (eciespy raises the AEAD's own error)
            ecies.decrypt(OTHER.key.hex(), item)
    # The renter it was sealed for does get the key from any two: the test could fail.
    shares = [Share(i, ecies.decrypt(RENTER.key.hex(), item)) for i, item in sealed]
    assert combine_key(shares[1:], 2) == blob.file_key


def node_holdings(nodes: RunningNodes, index: int) -> list[tuple[str, Share]]:
    """What a thief with node `index`'s key file and database reads: its shares, opened."""
    env = node_env(nodes.settings, index)
    key = NodeKey(type(nodes.settings.custody_dir)(env["DATADAO_NODE_KEY_FILE"]))
    engine = create_engine(env["DATADAO_NODE_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT contribution_id, stored_share FROM custody_shares")
        ).all()
    engine.dispose()
    return [(row[0], key.stored(row[1], row[0])) for row in rows]


def test_a_stolen_node_or_m_minus_one_colluding_nodes_recover_no_file_key(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blobs = {b.contribution_id: b for b in deposited(custody_nodes, dao, 4)}
    threshold = custody_nodes.node_set.threshold
    held = {i: dict(node_holdings(custody_nodes, i)) for i in (1, 2, 3)}
    for colluding in itertools.combinations((1, 2, 3), threshold - 1):  # one stolen node, M - 1
        for contribution_id, blob in blobs.items():
            shares = [held[i][contribution_id] for i in colluding]
            # Whatever they hold, read as a key or interpolated as if it were enough:
            guesses = [s.value for s in shares] + [combine_key(shares, len(shares))]
            assert not any(opens(guess, blob) for guess in guesses)
    for contribution_id, blob in blobs.items():  # M of them would: the test can tell
        shares = [held[i][contribution_id] for i in range(1, threshold + 1)]
        assert opens(combine_key(shares, threshold), blob)


class Granted:
    """The grant check removed: every account may decrypt every dataset."""

    def remembered(self, dataset_id: int, account: str) -> tuple[bool, int, bool]:
        return True, 2**40, False

    def grant(self, dataset_id: int, account: str) -> tuple[bool, int, bool]:
        return True, 2**40, False


def test_a_node_that_releases_to_anyone_does_not_let_a_stranger_decrypt(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    (blob,) = deposited(custody_nodes, dao, 1)
    stranger = dev_account(8)
    custody_nodes.stop(1)  # node 1 turns rogue: its key and database, grants ignored
    env = node_env(custody_nodes.settings, 1)
    settings = NodeSettings(**{k.removeprefix("DATADAO_NODE_").lower(): v for k, v in env.items()})
    client = CustodyClient(custody_nodes.node_set)
    signed = client.signed_request(stranger, 1, dao.chain_id, dao.access.address)
    with TestClient(create_app(settings)) as rogue:
        rogue.app.state.release.grants = Granted()  # type: ignore[attr-defined]
        page = rogue.post("/api/keys/release", json=signed).json()
    (released,) = page["keys"]
    share = Share(
        released["share_index"],
        ecies.decrypt(stranger.key.hex(), bytes.fromhex(released["encrypted_share"])),
    )
    assert not opens(share.value, blob) and not opens(combine_key([share], 1), blob)
    for node in custody_nodes.node_set.nodes[1:]:  # the honest nodes refuse the stranger
        fresh = client.signed_request(stranger, 1, dao.chain_id, dao.access.address)
        refused = requests.post(f"{node.url}/api/keys/release", json=fresh, timeout=10)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "no access grant for dataset 1"


def test_a_deposit_needs_a_validator_and_a_share_sealed_to_that_node(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blob = new_blob(9)
    # Before the registry records the contribution: nothing to hold a key for.
    early = deposit(custody_nodes.node_set, blob, CONTRIBUTOR.address)
    assert {a.status_code for a in early} == {403}
    assert "records no live contribution" in early[0].json()["detail"]
    record(dao, blob, CONTRIBUTOR.address)
    # Recorded for someone else: refused as well.
    misfiled = deposit(custody_nodes.node_set, blob, OTHER.address)
    assert {a.status_code for a in misfiled} == {403}
    forged = deposit(custody_nodes.node_set, blob, CONTRIBUTOR.address, signer=OTHER)
    assert {a.status_code for a in forged} == {403}
    assert (
        f"signed by {OTHER.address}, which the registry does not list" in forged[0].json()["detail"]
    )
    # Node 1's sealed share handed to node 2: node 2's key does not open it.
    moved = custody_nodes.node_set.model_copy(
        update={"nodes": [custody_nodes.node_set.nodes[0]] * 3}, deep=True
    )
    for node in moved.nodes[1:]:
        node.url = custody_nodes.node_set.nodes[1].url
    answers = deposit(moved, blob, CONTRIBUTOR.address, only=[2])
    assert answers[0].status_code == 403  # signed for node 1's key, presented to node 2
    assert os.path.exists(custody_nodes.folder(2))


def test_a_deposit_under_another_contributions_sequence_number_blocks_nobody(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    """A validator deposits contribution A under B's sequence number before B's own
    deposit comes: B's share is still taken (after the last), and both keys come back."""
    first, second = new_blob(1), new_blob(2)
    for blob in (first, second):
        record(dao, blob, CONTRIBUTOR.address)
    squatting = dataclasses.replace(first, sequence=second.sequence)
    assert [
        a.status_code for a in deposit(custody_nodes.node_set, squatting, CONTRIBUTOR.address)
    ] == [200] * 3
    for blob in (second, first):  # the real deposits, in any order
        answers = deposit(custody_nodes.node_set, blob, CONTRIBUTOR.address)
        assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    keys, client = release(custody_nodes, dao, RENTER)
    assert {k.contribution_id: k.file_key for k in keys} == {
        b.contribution_id: b.file_key for b in (first, second)
    }
    assert client.incomplete == []


def test_a_share_is_destroyed_only_once_the_chain_records_no_live_contribution(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    (blob,) = deposited(custody_nodes, dao, 1)
    for node in custody_nodes.node_set.nodes:
        answer = requests.post(
            f"{node.url}/api/shares/destroy", json={"fingerprint": blob.fingerprint}, timeout=10
        )
        assert answer.status_code == 403
        assert "as live" in answer.json()["detail"]
    assert all(len(node_holdings(custody_nodes, i)) == 1 for i in (1, 2, 3))

    # Withdrawn: each node destroys its share; the same signed deposit, replayed (it
    # travelled in the clear, or a delivery raced the withdrawal), brings nothing back.
    fingerprint = bytes.fromhex(blob.fingerprint.removeprefix("0x"))
    dao.transact(dao.registry.functions.withdraw(fingerprint), CONTRIBUTOR)
    for node in custody_nodes.node_set.nodes:
        answer = requests.post(
            f"{node.url}/api/shares/destroy", json={"fingerprint": blob.fingerprint}, timeout=10
        )
        assert answer.status_code == 200, answer.text
    replayed = deposit(custody_nodes.node_set, blob, CONTRIBUTOR.address)
    assert {a.status_code for a in replayed} == {403}
    assert all(len(node_holdings(custody_nodes, i)) == 0 for i in (1, 2, 3))


def test_a_node_refuses_a_huge_body_before_reading_it(custody_nodes: RunningNodes) -> None:
    port = int(custody_nodes.node_set.nodes[0].url.rsplit(":", 1)[1])
    status, raw = declared_only(port, "/api/shares", 1024**3)
    assert status == 413, raw


def test_a_node_destroys_a_voided_contributions_share_by_itself(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    # An attacker's read: a void (a stolen export, say) reached no node, which went on
    # releasing it to every granted renter. Each node reads voids and withdrawals itself.
    kept, voided = deposited(custody_nodes, dao, 2)
    fingerprint = bytes.fromhex(voided.fingerprint.removeprefix("0x"))
    dao.as_timelock(dao.registry.functions.voidContribution(fingerprint))
    wait_until(
        lambda: all(len(node_holdings(custody_nodes, i)) == 1 for i in (1, 2, 3)), timeout=30
    )
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    keys, _ = release(custody_nodes, dao, RENTER)
    assert [k.contribution_id for k in keys] == [kept.contribution_id]


def test_a_contribution_still_being_delivered_is_named_not_fatal(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    # A load run: a contribution whose share had reached one node so far failed every
    # renter's whole release. The rest is whole; that one is named, to fetch later.
    (whole,) = deposited(custody_nodes, dao, 1)
    arriving = new_blob(2)
    record(dao, arriving, CONTRIBUTOR.address)
    answers = deposit(custody_nodes.node_set, arriving, CONTRIBUTOR.address, only=[1])
    assert [a.status_code for a in answers] == [200]
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    # Node 1, its one holder, is asked: it is named (asked only nodes 2 and 3, a renter
    # never hears of it until it reaches one of them).
    keys, client = release(custody_nodes, dao, RENTER, first=[1, 2])
    assert [k.contribution_id for k in keys] == [whole.contribution_id]
    assert client.incomplete == [arriving.contribution_id]
    deposit(custody_nodes.node_set, arriving, CONTRIBUTOR.address, only=[2])
    keys, client = release(custody_nodes, dao, RENTER)
    assert {k.contribution_id for k in keys} == {whole.contribution_id, arriving.contribution_id}
    assert client.incomplete == []


def test_two_nodes_are_asked_and_the_third_only_when_one_fails(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blobs = deposited(custody_nodes, dao, 4)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    wanted = {b.contribution_id: b.file_key for b in blobs}
    chosen: set[int] = set()
    for _ in range(12):  # chosen at random: the load spreads over the three
        keys, client = release(custody_nodes, dao, RENTER, page_size=3)  # two pages each
        assert {k.contribution_id: k.file_key for k in keys} == wanted
        assert len(client.asked) == 2 and set(client.asked.values()) == {2}
        assert client.failed == {} and client.incomplete == []
        chosen |= set(client.asked)
    assert chosen == {1, 2, 3}
    custody_nodes.stop(2)
    keys, client = release(custody_nodes, dao, RENTER, first=[1, 2], page_size=3)
    assert {k.contribution_id: k.file_key for k in keys} == wanted
    assert set(client.asked) == {1, 2, 3} and client.asked[2] == 1  # 3 in 2's place
    assert list(client.failed) == [2] and "did not answer" in client.failed[2]
    assert custody_nodes.node_set.nodes[1].url in client.unused()
    assert client.incomplete == []


def test_a_share_only_a_node_not_asked_holds_is_still_fetched(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    whole = deposited(custody_nodes, dao, 3)
    partial = new_blob(9)  # delivered to nodes 1 and 3 so far, not to 2
    record(dao, partial, CONTRIBUTOR.address)
    answers = deposit(custody_nodes.node_set, partial, CONTRIBUTOR.address, only=[1, 3])
    assert [a.status_code for a in answers] == [200, 200]
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    keys, client = release(custody_nodes, dao, RENTER, first=[1, 2], page_size=2)
    assert {k.contribution_id: k.file_key for k in keys} == {
        b.contribution_id: b.file_key for b in [*whole, partial]
    }
    # Node 3, asked last, sent every share again from its first page: those combined
    # already are not named as incomplete.
    assert set(client.asked) == {1, 2, 3} and client.incomplete == []
    assert client.failed == {}


def test_a_resumed_release_asks_another_node_in_the_place_of_one_asked_first(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blobs = deposited(custody_nodes, dao, 4)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    first = CountingClient(custody_nodes.node_set, [1, 2])
    signed = first.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
    rounds = first.release(RENTER, signed, 2)
    stopped = next(rounds)  # the first round; the fetch stops here, its state on disk
    got, saved = stopped.keys, json.loads(json.dumps(stopped.state))
    assert set(saved["cursors"]) == {"1", "2"}  # the nodes asked, kept
    custody_nodes.stop(1)
    resumed = CountingClient(custody_nodes.node_set)
    got += [k for r in resumed.release(RENTER, None, 2, resumed.resumed(saved)) for k in r.keys]
    assert {k.contribution_id: k.file_key for k in got} == {
        b.contribution_id: b.file_key for b in blobs
    }
    assert resumed.asked[3] == 2 and list(resumed.failed) == [1]  # from 3's first page
    assert resumed.incomplete == []


def test_a_node_forwarding_the_request_to_the_others_does_not_stop_the_fetch(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    # Node 1 saw the request and spent its nonce at nodes 2 and 3 first: they refused it
    # as replayed, and the fetch failed. The client signs a fresh one for them.
    blobs = deposited(custody_nodes, dao, 2)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    client = CountingClient(custody_nodes.node_set, first=[1, 2])
    signed = client.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
    for node in custody_nodes.node_set.nodes[1:]:
        spent = requests.post(f"{node.url}/api/keys/release", json=signed, timeout=10)
        assert spent.status_code == 200
    keys = [k for r in client.release(RENTER, signed, 1000) for k in r.keys]
    assert {k.contribution_id: k.file_key for k in keys} == {
        b.contribution_id: b.file_key for b in blobs
    }


def test_a_node_answers_an_invalid_release_request_as_fastapi_does(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    # The release routes are served in front of FastAPI's routing; what is not a valid
    # request goes on to FastAPI, which answers it as it always did.
    deposited(custody_nodes, dao, 1)
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    url = custody_nodes.node_set.nodes[0].url
    signed = CustodyClient(custody_nodes.node_set).signed_request(
        RENTER, 1, dao.chain_id, dao.access.address
    )
    bad = requests.post(f"{url}/api/keys/release", json={**signed, "chain_id": "1"}, timeout=10)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "chain_id"]
    broken = requests.post(
        f"{url}/api/keys/release",
        data=b"{not json",
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    deep = requests.post(  # the JSON parser's recursion limit: it was a 500 here
        f"{url}/api/keys/release",
        data=b"[" * 1100,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert 400 <= deep.status_code < 500, deep.text
    cursor = requests.post(f"{url}/api/keys/release/next", json={"cursor": "x"}, timeout=10)
    assert cursor.status_code == 403 and cursor.json()["detail"].startswith("unknown cursor")
    ok = requests.post(f"{url}/api/keys/release", json={**signed, "limit": 1}, timeout=10)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/json"
    assert [k["share_index"] for k in ok.json()["keys"]] == [1]
    assert ok.json()["next_cursor"] is None
    again = requests.post(f"{url}/api/keys/release", json=signed, timeout=10)
    assert again.status_code == 403 and again.json() == {"detail": "the challenge was already used"}
