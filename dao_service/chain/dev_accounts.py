"""anvil's well-known development accounts, from its published test mnemonic.

PUBLIC TEST KEYS, printed by every anvil at start-up: anything sent to these addresses
on a real network is taken by strangers. They are used only when the chain id is
anvil's (31337) and no key was configured.
"""

from functools import cache
from typing import TYPE_CHECKING

from dao_service.core.config import ANVIL_CHAIN_ID
from dao_service.exceptions import ConfigurationError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

ANVIL_TEST_MNEMONIC = "test test test test test test test test test test test junk"
DEPLOYER_INDEX = 0
VALIDATOR_INDEX = 1
# The local stack's two co-validator nodes sign with the mnemonic's accounts 10 and 11:
# beyond anvil's ten funded ones, so no test or demo account doubles as a validator (a
# validator sends nothing; the service relays).
CO_VALIDATOR_INDEXES = (10, 11)
# The addresses of accounts 0-9, as anvil prints them: listing accounts needs no key
# derivation (eth_account's import alone costs a command line ~0.13 s). A test derives them.
DEV_ADDRESSES = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)


@cache
def dev_account(index: int) -> "LocalAccount":
    """anvil's test account `index` (0-9 are funded), derived as anvil derives it."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def key_or_dev_account(key: str | None, chain_id: int, index: int, what: str) -> "LocalAccount":
    """The configured key's account; on anvil's chain without one, a labelled test account."""
    from eth_account import Account

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
