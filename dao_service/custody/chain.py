"""The node's own reading of the chain, through its own RPC URL: grants (for release),
the validator set (for deposits) and contributions' status (for destruction). A node
trusts no other process's word for any of them."""

import threading
import time

from web3 import Web3
from web3.contract import Contract

from dao_service.chain import connection, custody_set
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.manifest import DeploymentManifest, load_manifest
from dao_service.custody.settings import NodeSettings


class NodeChain:
    def __init__(self, w3: Web3, manifest: DeploymentManifest, validator_cache: float) -> None:
        self.w3, self.manifest = w3, manifest
        self.access: Contract = connection.contract(w3, manifest, "AccessRegistry")
        self.registry: Contract = connection.contract(w3, manifest, "ContributionRegistry")
        self.node_sets: Contract = connection.contract(w3, manifest, custody_set.CONTRACT)
        self._validators: dict[str, tuple[float, bool]] = {}
        self._validator_cache = validator_cache
        self._block = 0
        self._lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        return self.manifest.chain_id

    @property
    def access_registry(self) -> str:
        return str(self.access.address)

    def latest_block(self) -> int:
        with self._lock:
            self._block = max(self._block, self.w3.eth.block_number)
            return self._block

    def grant_at(self, dataset_id: int, account: str, block: int) -> tuple[bool, int, bool]:
        access = self.access.functions
        can = bool(access.canDecrypt(dataset_id, account).call(block_identifier=block))
        expires, revoked = access.grantOf(dataset_id, account).call(block_identifier=block)
        return can, int(expires), bool(revoked)

    def is_validator(self, address: str) -> bool:
        """Whether the registry lists `address` as a validator (remembered a minute)."""
        now = time.monotonic()
        known = self._validators.get(address)
        if known is not None and known[0] > now:
            return known[1]
        answer = bool(self.registry.functions.isValidator(address).call())
        self._validators[address] = (now + self._validator_cache, answer)
        return answer

    def node_set(self, epoch: int) -> CustodyNodeSet | None:
        """Custody node set `epoch` as this node's RPC reads it (None: no such set)."""
        current = int(self.node_sets.functions.currentNodeSet().call()[0])
        if not 1 <= epoch <= current:
            return None
        threshold, nodes = self.node_sets.functions.nodeSet(epoch).call()
        return custody_set.from_chain(epoch, threshold, nodes)

    def contribution_status(self, fingerprint: str) -> tuple[str, int]:
        """(contributor, revenue weight) as the registry records the contribution: the
        zero address if it records none; weight 0 once withdrawn or voided."""
        contributor, _, weight, _ = self.registry.functions.contributionOf(
            bytes.fromhex(fingerprint.removeprefix("0x"))
        ).call()
        return str(contributor), int(weight)


class NodeChainProvider:
    """Connects on first use, so the node starts while the chain is not up yet."""

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self._chain: NodeChain | None = None
        self._lock = threading.Lock()

    def __call__(self) -> NodeChain:
        if self._chain is None:
            with self._lock:
                if self._chain is None:
                    self._chain = NodeChain(
                        connection.connect(self.settings.chain_rpc_url),
                        load_manifest(self.settings.manifest_path),
                        self.settings.validator_cache_seconds,
                    )
        return self._chain
