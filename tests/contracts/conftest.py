import pytest
from eth_account.signers.local import LocalAccount

from dao_service.chain.dev_accounts import VALIDATOR_INDEX, dev_account


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
