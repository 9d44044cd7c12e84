"""Moving a local anvil chain forward: blocks and clock. Refused on any other chain."""

from dao_service.client.core import ANVIL_CHAIN_ID, DaoClient
from dao_service.exceptions import ConfigurationError


def _only_anvil(client: DaoClient, what: str) -> None:
    chain_id = int(client.rpc.request("eth_chainId"), 16)
    if chain_id != ANVIL_CHAIN_ID:
        raise ConfigurationError(
            f"{what} works only on a local anvil chain (chain id {ANVIL_CHAIN_ID}); "
            f"{client.endpoints.rpc_url} is chain {chain_id}"
        )


def advance(client: DaoClient, blocks: int = 0, seconds: int = 0) -> tuple[int, int]:
    """Mine `blocks` blocks (at least one when the clock moves) after moving the clock
    `seconds` forward; returns the new (block number, timestamp)."""
    _only_anvil(client, "chain advance")
    if seconds:
        client.rpc.request("evm_increaseTime", [seconds])
    client.rpc.request("anvil_mine", [hex(max(blocks, 1 if seconds else 0))])
    block = client.block()
    return int(block["number"], 16), int(block["timestamp"], 16)


def fund(client: DaoClient, address: str, wei: int) -> int:
    """Add `wei` test ETH to `address`'s balance (never taking any away); returns the new
    balance."""
    _only_anvil(client, "chain fund")
    client.rpc.request("anvil_setBalance", [address, hex(client.balance_of(address) + wei)])
    return client.balance_of(address)
