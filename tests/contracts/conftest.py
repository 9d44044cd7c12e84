"""The contract tests' accounts, and the contributions many of them start from."""

import pytest
from eth_account.signers.local import LocalAccount

from dao_service.chain.attestations import Attestation
from dao_service.chain.dev_accounts import VALIDATOR_INDEX, dev_account
from tests.utils.chain import Dao


@pytest.fixture
def validator() -> LocalAccount:
    return dev_account(VALIDATOR_INDEX)


@pytest.fixture
def alice() -> LocalAccount:
    return dev_account(2)


@pytest.fixture
def bob() -> LocalAccount:
    return dev_account(3)


@pytest.fixture
def carol() -> LocalAccount:
    return dev_account(4)


@pytest.fixture
def renter() -> LocalAccount:
    return dev_account(5)


@pytest.fixture
def outsider() -> LocalAccount:
    return dev_account(7)


@pytest.fixture
def relayer() -> LocalAccount:
    return dev_account(8)


@pytest.fixture
def alice_holds_the_votes(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> Attestation:
    """Alice contributed (score 300): enough to vote a rental through on her own."""
    attestation = dao.attestation(alice.address, score=300)
    dao.contribute(attestation, [validator], relayer)
    return attestation


@pytest.fixture
def alice_and_bob_contributed(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, bob: LocalAccount, relayer: LocalAccount
) -> tuple[Attestation, Attestation]:
    """Alice's and Bob's contributions to dataset 1, score 100 each: equal weight."""
    contributed = (
        dao.attestation(alice.address, score=100),
        dao.attestation(bob.address, score=100),
    )
    for attestation in contributed:
        dao.contribute(attestation, [validator], relayer)
    return contributed


@pytest.fixture
def alice_contributed(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> Attestation:
    """Alice's contribution to dataset 1, score 10: 10 tokens, her votes."""
    attestation = dao.attestation(alice.address, score=10)
    dao.contribute(attestation, [validator], relayer)
    return attestation
