"""Moving a local anvil chain forward: blocks and clock. Refused on any other chain."""

from dao_service.client.core import ANVIL_CHAIN_ID, DaoClient
from dao_service.exceptions import ConfigurationError


def advance(client: DaoClient, blocks: int = 0, seconds: int = 0) -> tuple[int, int]:
    """Mine `blocks` blocks (at least one when the clock moves) after moving the clock
    `seconds` forward; returns the new (block number, timestamp)."""
    chain_id = int(client.rpc.request("eth_chainId"), 16)
    if chain_id != ANVIL_CHAIN_ID:
        raise ConfigurationError(
            f"chain advance works only on a local anvil chain (chain id {ANVIL_CHAIN_ID}); "
            f"{client.endpoints.rpc_url} is chain {chain_id}"
        )
    if seconds:
        client.rpc.request("evm_increaseTime", [seconds])
    client.rpc.request("anvil_mine", [hex(max(blocks, 1 if seconds else 0))])
    block = client.block()
    return int(block["number"], 16), int(block["timestamp"], 16)
