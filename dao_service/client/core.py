"""`DaoClient`: one deployment (manifest and ABIs, chain, service, IPFS) as Python calls.

Everything is connected lazily: building a client costs nothing, and a command touches
only the parts it uses.
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dao_service.chain import custody_set
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.manifest import DeploymentManifest, load_manifest
from dao_service.chain.reverts import RevertDecoder
from dao_service.client.rpc import BoundContract, JsonRpc, send_transaction
from dao_service.exceptions import ConfigurationError, RpcError

if TYPE_CHECKING:
    from dao_service.client.service import ServiceClient

ANVIL_CHAIN_ID = 31337
ETH = 10**18


@dataclass(frozen=True)
class Endpoints:
    """Where a deployment is: its chain, its service, its manifest and an IPFS RPC API."""

    rpc_url: str
    service_url: str
    manifest_path: Path
    ipfs_api_url: str
    data_dir: Path  # this machine's: accounts, fetched data

    @property
    def accounts_dir(self) -> Path:
        return self.data_dir / "accounts"


class DaoClient:
    """The deployed DAO: read its contracts, send transactions, reach its service."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._contracts: dict[str, BoundContract] = {}

    @cached_property
    def manifest(self) -> DeploymentManifest:
        return load_manifest(self.endpoints.manifest_path)

    @cached_property
    def rpc(self) -> JsonRpc:
        return JsonRpc(self.endpoints.rpc_url)

    @cached_property
    def service(self) -> "ServiceClient":
        from dao_service.client.service import ServiceClient

        return ServiceClient(self.endpoints.service_url)

    @cached_property
    def reverts(self) -> RevertDecoder:
        return RevertDecoder(c.abi for c in self.manifest.contracts.values())

    @cached_property
    def chain_id(self) -> int:
        """The node's chain id, checked against the manifest's once."""
        node = int(self.rpc.request("eth_chainId"), 16)
        if node != self.manifest.chain_id:
            raise ConfigurationError(
                f"The chain at {self.endpoints.rpc_url} is chain {node}, but the manifest "
                f"{self.endpoints.manifest_path} is for chain {self.manifest.chain_id}."
            )
        return node

    def is_local_chain(self) -> bool:
        """Whether the deployment is on anvil's chain, where its test keys may sign."""
        try:
            return self.manifest.chain_id == ANVIL_CHAIN_ID
        except ConfigurationError:
            return False

    @property
    def deployed_at(self) -> int:
        """The block of the first deployment transaction: logs start there."""
        return min(c.block_number for c in self.manifest.contracts.values())

    def contract(self, name: str) -> BoundContract:
        if name not in self._contracts:
            deployed = self.manifest.contracts.get(name)
            if deployed is None:
                raise ConfigurationError(f"The deployment manifest has no contract {name}.")
            self._contracts[name] = BoundContract(self.rpc, name, deployed.address, deployed.abi)
        return self._contracts[name]

    @property
    def token(self) -> BoundContract:
        return self.contract("DataToken")

    @property
    def governor(self) -> BoundContract:
        return self.contract("DataGovernor")

    @property
    def timelock(self) -> BoundContract:
        return self.contract("DataTimelock")

    @property
    def registry(self) -> BoundContract:
        return self.contract("ContributionRegistry")

    @property
    def access(self) -> BoundContract:
        return self.contract("AccessRegistry")

    @property
    def access_registry_address(self) -> str:
        return self.access.address

    @property
    def escrow(self) -> BoundContract:
        return self.contract("RentalEscrow")

    @property
    def pool(self) -> BoundContract:
        return self.contract("RevenuePool")

    def custody_nodes(self, epoch: int | None = None) -> CustodyNodeSet | None:
        """The chain's custody node set `epoch`, by default the current one (None: the
        deployment has no custody nodes yet; the service releases keys itself)."""
        custody_set.require_contract(self.manifest)
        sets = self.contract(custody_set.CONTRACT)
        if epoch is None:
            return custody_set.from_chain(*sets.call("currentNodeSet"))
        return custody_set.from_chain(epoch, *sets.call("nodeSet", epoch))

    def custody_node_sets(self) -> list[CustodyNodeSet]:
        """Every custody node set the chain records, the current one first: contributions
        stay with the set their key was split for, so a release asks each."""
        current = self.custody_nodes()
        if current is None:
            return []
        older = (self.custody_nodes(epoch) for epoch in range(current.epoch - 1, 0, -1))
        return [current, *(s for s in older if s is not None)]

    def contract_at(self, address: str) -> BoundContract | None:
        for name, deployed in self.manifest.contracts.items():
            if deployed.address.lower() == address.lower():
                return self.contract(name)
        return None

    def transact(
        self, account: Any, contract: BoundContract, function: str, *args: Any, value: int = 0
    ) -> dict[str, Any]:
        """Send `contract.function(*args)` from `account`; a revert raises ContractReverted."""
        _ = self.chain_id  # refuse a manifest of another chain before signing anything
        try:
            return send_transaction(
                self.rpc,
                account,
                contract.address,
                contract.data(function, *args),
                value=value,
                decoder=self.reverts,
            )
        except RpcError as exc:
            if "insufficient funds" not in exc.user_message.lower():
                raise
            hint = (
                f" (on the local stack: `datadao chain fund {account.address}`)"
                if self.is_local_chain()
                else ""
            )
            raise ConfigurationError(
                f"{account.address} has too little ETH to pay for this transaction's gas{hint}"
            ) from exc

    def block(self, number: int | str = "latest") -> dict[str, Any]:
        tag = number if isinstance(number, str) else hex(number)
        block: dict[str, Any] = self.rpc.request("eth_getBlockByNumber", [tag, False])
        return block

    def block_number(self) -> int:
        return int(self.rpc.request("eth_blockNumber"), 16)

    def balance_of(self, address: str) -> int:
        return int(self.rpc.request("eth_getBalance", [address, "latest"]), 16)

    @staticmethod
    def events_in(
        receipt: dict[str, Any], contract: BoundContract, event: str
    ) -> list[dict[str, Any]]:
        """The `event`s `contract` emitted in the transaction of `receipt`."""
        spec = contract.events[event]
        return [
            spec.decode(log)
            for log in receipt["logs"]
            if log["address"].lower() == contract.address.lower() and log["topics"][0] == spec.topic
        ]
