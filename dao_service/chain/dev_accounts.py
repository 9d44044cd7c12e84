"""anvil's well-known development accounts, from its published test mnemonic.

PUBLIC TEST KEYS, printed by every anvil at start-up: anything sent to these addresses
on a real network is taken by strangers. They are used only when the chain id is
anvil's (31337) and no key was configured.
"""

from functools import cache

from eth_account import Account
from eth_account.signers.local import LocalAccount

from dao_service.core.config import ANVIL_CHAIN_ID
from dao_service.exceptions import ConfigurationError

ANVIL_TEST_MNEMONIC = "test test test test test test test test test test test junk"
DEPLOYER_INDEX = 0
VALIDATOR_INDEX = 1


@cache
def dev_account(index: int) -> LocalAccount:
    """anvil's test account `index` (0-9 are funded), derived as anvil derives it."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def key_or_dev_account(key: str | None, chain_id: int, index: int, what: str) -> LocalAccount:
    """The configured key's account; on anvil's chain without one, a labelled test account."""
    if key:
        try:
            return Account.from_key(key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"The {what} key is not a valid private key.") from exc
    if chain_id != ANVIL_CHAIN_ID:
        raise ConfigurationError(
            f"No {what} key configured for chain {chain_id}; the anvil test keys are only "
            f"used on anvil's chain ({ANVIL_CHAIN_ID})."
        )
    return dev_account(index)
