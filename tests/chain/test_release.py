"""The service releases matured contributions' tokens from the registry's custody, and
the client shows the tokens still maturing."""

from pathlib import Path

from web3 import Web3

from dao_service.chain.dao import DaoChain
from dao_service.chain.dev_accounts import VALIDATOR_INDEX, dev_account
from dao_service.chain.manifest import write_manifest
from dao_service.client.core import DaoClient, Endpoints
from dao_service.client.holdings import balance
from tests.conftest import DeployDao
from tests.utils.chain import Dao

ETH = 10**18


def test_matured_tokens_are_released_once_voided_ones_never(
    w3: Web3, deploy_dao: DeployDao
) -> None:
    validator, alice, relayer = dev_account(VALIDATOR_INDEX), dev_account(2), dev_account(8)
    dao = Dao(w3, deploy_dao(maturity_seconds=900))
    chain = DaoChain(w3, dao.manifest, validator, relayer)
    honest, fraud = (dao.attestation(alice.address, score=s) for s in (10, 20))
    for attestation in (honest, fraud):
        dao.contribute(attestation, [validator], relayer)
    assert chain.release_matured() == 0  # not yet matured
    assert dao.token.functions.balanceOf(alice.address).call() == 0

    dao.as_timelock(dao.registry.functions.voidContribution(fraud.fingerprint))
    dao.advance_time(900)
    late = dao.attestation(alice.address, score=5)
    dao.contribute(late, [validator], relayer)
    assert chain.release_matured() == 1
    assert dao.token.functions.balanceOf(alice.address).call() == 10 * ETH
    assert dao.pool.functions.weightOf(1, alice.address).call() == 10
    assert chain.release_matured() == 0  # each once
    dao.advance_time(900)
    assert chain.release_matured() == 1
    assert dao.token.functions.getVotes(alice.address).call() == 15 * ETH


def test_balance_shows_tokens_still_maturing(
    w3: Web3, deploy_dao: DeployDao, anvil_url: str, tmp_path: Path
) -> None:
    validator, alice, relayer = dev_account(VALIDATOR_INDEX), dev_account(2), dev_account(8)
    dao = Dao(w3, deploy_dao(maturity_seconds=900))
    write_manifest(tmp_path / "deployment.json", dao.manifest)
    client = DaoClient(
        Endpoints(anvil_url, "http://127.0.0.1:9", tmp_path / "deployment.json", "", tmp_path)
    )
    honest, fraud = (dao.attestation(alice.address, score=s) for s in (10, 20))
    for attestation in (honest, fraud):
        dao.contribute(attestation, [validator], relayer)
    dao.as_timelock(dao.registry.functions.voidContribution(fraud.fingerprint))
    held = balance(client, alice.address)
    matures_at = dao.registry.functions.maturityOf(honest.fingerprint).call()[0]
    assert (held.tokens, held.votes, held.maturing) == (0, 0, 10 * ETH)
    assert held.next_maturity == matures_at
    dao.mature([honest.fingerprint], relayer)
    held = balance(client, alice.address)
    assert (held.tokens, held.maturing, held.next_maturity) == (10 * ETH, 0, None)
