"""CustodyNodeSet on a real anvil: the deployment's first set from the constructor, later
sets only by the timelock (a vote), every earlier set still readable, and each malformed
set refused with its values."""

from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from dao_service.chain.custody_set import CustodyNode, as_arguments
from dao_service.core.shares import new_node_key, node_public_key
from tests.conftest import DeployDao
from tests.utils.chain import Dao


def nodes(count: int, port: int = 9000) -> list[CustodyNode]:
    return [
        CustodyNode(url=f"http://127.0.0.1:{port + i}", public_key=node_public_key(new_node_key()))
        for i in range(count)
    ]


def test_a_deployment_without_nodes_has_no_set_until_a_vote_records_one(dao: Dao) -> None:
    sets = dao.node_sets.functions
    assert sets.currentNodeSet().call() == [0, 0, []]
    with dao.reverts("CustodyNodeSetUnknownEpoch", 0, 0):
        dao.as_timelock(sets.nodeSet(0))  # a view: reverts the same when sent
    first = nodes(3)
    receipt = dao.as_timelock(sets.setNodeSet(2, as_arguments(first)))
    event = dao.node_sets.events.NodeSetRecorded().process_receipt(receipt, errors=DISCARD)
    assert [dict(e["args"]) for e in event] == [{"epoch": 1, "threshold": 2, "count": 3}]
    assert dao.current_node_set() is not None
    assert dao.current_node_set().nodes == first  # type: ignore[union-attr]


def test_the_first_set_comes_from_the_deployment_and_later_ones_only_from_the_timelock(
    deploy_dao: DeployDao, w3: Any, alice: LocalAccount
) -> None:
    first = nodes(3)
    manifest = deploy_dao(
        custody_threshold=2, custody_nodes=[n.model_dump() for n in first]
    )  # verify_wiring read the same set back
    dao = Dao(w3, manifest)
    sets = dao.node_sets.functions
    assert sets.owner().call() == manifest.address_of("DataTimelock")
    current = dao.current_node_set()
    assert current is not None and (current.epoch, current.threshold) == (1, 2)
    assert current.nodes == first

    second = nodes(4, port=9100)
    with dao.reverts("OwnableUnauthorizedAccount", alice.address):
        dao.transact(sets.setNodeSet(3, as_arguments(second)), alice)
    dao.as_timelock(sets.setNodeSet(3, as_arguments(second)))
    current = dao.current_node_set()
    assert current is not None and (current.epoch, current.threshold) == (2, 3)
    assert current.nodes == second
    # The set the first contributions were split for stays readable, as it was.
    threshold, old = sets.nodeSet(1).call()
    assert threshold == 2 and old == [tuple(a) for a in as_arguments(first)]
    with dao.reverts("CustodyNodeSetUnknownEpoch", 3, 2):
        dao.as_timelock(sets.nodeSet(3))
    # A key belongs to one set: a node staying across a rotation takes a new key, so that
    # every share it holds is of one set's threshold.
    staying = [*nodes(2, port=9200), first[1]]
    with dao.reverts("CustodyNodeSetKeyOfEarlierSet", 3, bytes.fromhex(first[1].public_key), 1):
        dao.as_timelock(sets.setNodeSet(2, as_arguments(staying)))


def _with(index: int, **changed: Any) -> Callable[[list[CustodyNode]], list[tuple[bytes, str]]]:
    def make(listed: list[CustodyNode]) -> list[tuple[bytes, str]]:
        given = as_arguments(listed)
        key, url = given[index]
        given[index] = (changed.get("key", key), changed.get("url", url))
        return given

    return make


KEY = bytes.fromhex(node_public_key(new_node_key()))


@pytest.mark.parametrize(
    ("threshold", "make", "error", "args"),
    [
        (0, as_arguments, "CustodyNodeSetInvalidThreshold", (0, 3)),
        (4, as_arguments, "CustodyNodeSetInvalidThreshold", (4, 3)),
        (1, lambda _: [], "CustodyNodeSetInvalidThreshold", (1, 0)),
        (1, lambda n: as_arguments(n) * 86, "CustodyNodeSetTooManyNodes", (258, 255)),
        (2, _with(0, key=KEY[1:]), "CustodyNodeSetInvalidPublicKey", (1, KEY[1:])),
        (
            2,
            _with(1, key=b"\x03" + KEY[1:]),
            "CustodyNodeSetInvalidPublicKey",
            (2, b"\x03" + KEY[1:]),
        ),
        (2, _with(2, url=""), "CustodyNodeSetInvalidUrl", (3, "")),
        (2, _with(1, url="ftp://node"), "CustodyNodeSetInvalidUrl", (2, "ftp://node")),
        (2, _with(0, url="https://"), "CustodyNodeSetInvalidUrl", (1, "https://")),
        (2, _with(2, key=KEY), None, None),  # a fresh key: accepted
    ],
)
def test_a_malformed_set_is_refused_with_its_values(
    dao: Dao,
    threshold: int,
    make: Callable[[list[CustodyNode]], list[tuple[bytes, str]]],
    error: str | None,
    args: tuple[Any, ...] | None,
) -> None:
    given = make(nodes(3))
    call = dao.node_sets.functions.setNodeSet(threshold, given)
    if error is None:
        dao.as_timelock(call)
        assert dao.node_sets.functions.currentEpoch().call() == 1
        return
    assert args is not None
    with dao.reverts(error, *args):
        dao.as_timelock(call)
    assert dao.node_sets.functions.currentEpoch().call() == 0


def test_a_repeated_key_is_refused_naming_the_node(dao: Dao) -> None:
    given = as_arguments(nodes(3))
    given[2] = (given[0][0], "http://127.0.0.1:9999")
    with dao.reverts("CustodyNodeSetRepeatedPublicKey", 3, given[0][0]):
        dao.as_timelock(dao.node_sets.functions.setNodeSet(2, given))


def test_a_deployment_from_before_the_contract_is_named_as_such(w3: Any, manifest: Any) -> None:
    from dao_service.chain.dao import DaoChain
    from dao_service.chain.dev_accounts import dev_account
    from dao_service.exceptions import ConfigurationError

    contracts = {k: v for k, v in manifest.contracts.items() if k != "CustodyNodeSet"}
    old = manifest.model_copy(update={"contracts": contracts})
    with pytest.raises(ConfigurationError, match="deployed before the custody node set"):
        DaoChain(w3, old, dev_account(1), dev_account(8))


def test_no_vote_sets_fewer_than_the_deployments_minimum_of_nodes_to_give_a_key(
    deploy_dao: DeployDao, w3: Any
) -> None:
    # A captured vote used to be able to set M = 1: one operator giving every new key back.
    first = nodes(3)
    manifest = deploy_dao(
        custody_min_threshold=2, custody_threshold=2, custody_nodes=[n.model_dump() for n in first]
    )
    dao = Dao(w3, manifest)
    sets = dao.node_sets.functions
    assert sets.minThreshold().call() == 2
    with dao.reverts("CustodyNodeSetThresholdBelowMinimum", 1, 2):
        dao.as_timelock(sets.setNodeSet(1, as_arguments(nodes(3, port=9200))))
    dao.as_timelock(sets.setNodeSet(2, as_arguments(nodes(3, port=9300))))
    assert dao.current_node_set().epoch == 2  # type: ignore[union-attr]
