"""An earnings root waiting out its challenge delay: income and `claim` say when it becomes
claimable, and claim it once it is."""

from pathlib import Path

import pytest
from web3 import Web3

from dao_service.chain.dev_accounts import VALIDATOR_INDEX, dev_account
from dao_service.chain.earnings_roots import EarningsRoot
from dao_service.chain.manifest import write_manifest
from dao_service.chain.merkle import EarningsTree
from dao_service.client.core import DaoClient, Endpoints
from dao_service.client.holdings import claim
from dao_service.client.income import income
from dao_service.earnings.table import ContributionShare, PublishedTable
from dao_service.exceptions import Refused
from dao_service.storage.ipfs import IpfsStore
from tests.conftest import DeployDao
from tests.utils.chain import Dao

ETH = 10**18
DELAY = 900


def test_claim_says_when_a_waiting_root_becomes_claimable(
    w3: Web3, deploy_dao: DeployDao, anvil_url: str, ipfs: IpfsStore, tmp_path: Path
) -> None:
    validator, alice, relayer = dev_account(VALIDATOR_INDEX), dev_account(2), dev_account(8)
    dao = Dao(w3, deploy_dao(challenge_delay_seconds=DELAY))
    attestation = dao.attestation(alice.address, score=10)
    dao.contribute(attestation, [validator], relayer)
    dao.transact(dao.pool.functions.depositValued(1), relayer, value=ETH)
    tree = EarningsTree.of({alice.address: ETH})
    share = ContributionShare(
        contribution="0x" + attestation.fingerprint.hex(),
        contributor=alice.address,
        source="reddit",
        records=1,
        value=1.0,
        amount=ETH,
    )
    table = PublishedTable(
        dataset_id=1,
        epoch=1,
        rental_id=1,
        sample_sha256="0x" + "11" * 32,
        method="test",
        payment=ETH,
        split=ETH,
        previous=None,
        contributions=[share],
        cumulative={alice.address: ETH},
        root="0x" + tree.root.hex(),
        total=ETH,
    )
    cid = ipfs.add(table.model_dump_json().encode())
    root = EarningsRoot(dataset_id=1, epoch=1, root=tree.root, total=ETH, cid=cid)
    dao.post_root(root, [validator], relayer)
    claimable_at = dao.pool.functions.pendingEarningsRoot(1).call()[3]
    assert claimable_at == dao.now() + DELAY

    write_manifest(tmp_path / "deployment.json", dao.manifest)
    endpoints = Endpoints(
        anvil_url, "http://127.0.0.1:9", tmp_path / "deployment.json", ipfs.api_url, tmp_path
    )
    client = DaoClient(endpoints)
    (held,) = income(client, alice.address).datasets
    assert held.by_value is not None
    assert (held.by_value.pending_wei, held.by_value_claimable_wei) == (ETH, 0)
    assert [r.claimable_at for r in held.rentals if r.rental_id == 1] == [claimable_at]

    with pytest.raises(Refused) as refused:
        claim(client, alice, 1)
    said = refused.value.user_message
    assert "has no rental income to claim from dataset 1; 1 ETH of dataset 1's is" in said
    assert "claimable after" in said and "waited out the challenge delay" in said
    assert "`datadao chain advance --time " in said

    dao.advance_time(DELAY)
    assert claim(client, alice, 1) == {1: ETH}
