"""web3.py connection and transactions, tuned for anvil and fine for any EVM JSON-RPC."""

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt, Wei

from dao_service.chain.compiler import CompiledContract
from dao_service.chain.manifest import DeploymentManifest
from dao_service.exceptions import DeploymentError, StackError

# The default 0.1 s receipt polling caps throughput at ~10 tx/s on a local chain.
RECEIPT_POLL_LATENCY = 0.005
RECEIPT_TIMEOUT = 120


def with_margin(estimate: int) -> int:
    """anvil estimates against the latest block, where an ERC20Votes checkpoint written at
    that same clock value (now a timestamp: blocks of one second share it) is updated in
    place; the real transaction may land at a new one and push a new checkpoint slot
    (~22k gas more) for each account whose votes move: two for a delegation or a
    transfer. The margin covers both (unused gas is not paid)."""
    return int(estimate * 1.25) + 50_000


def connect(rpc_url: str, timeout: float = 10) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    if not w3.is_connected():
        raise StackError(
            f"The chain at {rpc_url} does not answer. Is it running (`datadao status`)?"
        )
    return w3


def send(w3: Web3, account: LocalAccount, tx: TxParams) -> TxReceipt:
    """Sign `tx` with `account`, send it and wait for its receipt; revert -> DeploymentError."""
    tx = {**tx, "from": account.address}
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tip = w3.eth.max_priority_fee
        tx["maxPriorityFeePerGas"] = tip
        tx["maxFeePerGas"] = Wei(2 * w3.eth.get_block("latest")["baseFeePerGas"] + tip)
    if "gas" not in tx:
        tx["gas"] = with_margin(w3.eth.estimate_gas(tx))
    signed = account.sign_transaction(tx)  # type: ignore[arg-type]
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(
        tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=RECEIPT_POLL_LATENCY
    )
    if receipt["status"] != 1:
        raise DeploymentError(f"Transaction {tx_hash.hex()} reverted.")
    return receipt


def deploy(w3: Web3, account: LocalAccount, compiled: CompiledContract, *args: Any) -> TxReceipt:
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    return send(w3, account, {"data": factory.constructor(*args).data_in_transaction})


def contracts_without_code(w3: Web3, manifest: DeploymentManifest) -> list[str]:
    """Names of the manifest's contracts that have no code on the chain `w3` reaches."""
    return [
        name
        for name, deployed in manifest.contracts.items()
        if not w3.eth.get_code(Web3.to_checksum_address(deployed.address))
    ]


def contract(w3: Web3, manifest: DeploymentManifest, name: str) -> Contract:
    deployed = manifest.contracts[name]
    return w3.eth.contract(address=Web3.to_checksum_address(deployed.address), abi=deployed.abi)
