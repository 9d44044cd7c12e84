"""A validator node's parts, built from settings once per process: its database (dedup
index and verdicts), its intake key, its IPFS node and its view of the chain."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker
from web3.contract import Contract

from dao_service.chain import connection
from dao_service.chain.attestations import Attestation, sign_attestation
from dao_service.chain.earnings_roots import EarningsRoot, sign_earnings_root
from dao_service.chain.manifest import DeploymentManifest, load_manifest
from dao_service.chain.validator_set import ValidatorIdentity
from dao_service.core.config import Settings
from dao_service.core.custody import IntakeKey
from dao_service.exceptions import ConfigurationError
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.dedup_index import open_index
from dao_service.storage.ipfs import IpfsStore
from validators import DedupIndex

RENTAL_APPROVED = 2  # RentalEscrow.Status.Approved: executed, its payment released


class NodeChain:
    """What a validator node reads from the chain, and its signatures. It sends nothing:
    the collecting node relays."""

    def __init__(self, w3: connection.Web3, manifest: DeploymentManifest, signer: LocalAccount):
        self.w3, self.manifest, self.signer = w3, manifest, signer
        self.registry: Contract = connection.contract(w3, manifest, "ContributionRegistry")
        self.pool: Contract = connection.contract(w3, manifest, "RevenuePool")
        self.escrow: Contract = connection.contract(w3, manifest, "RentalEscrow")

    @property
    def chain_id(self) -> int:
        return self.manifest.chain_id

    @property
    def registry_address(self) -> str:
        return str(self.registry.address)

    @property
    def address(self) -> str:
        return str(self.signer.address)

    def max_score(self) -> int:
        return int(self.registry.functions.mintLimits().call()[0])

    def is_validator(self, address: str | None = None) -> bool:
        """Whether the registry lists `address` (default: this node) as a validator."""
        listed = address or self.signer.address
        return bool(self.registry.functions.isValidator(listed).call())

    def earnings_of(self, dataset_id: int) -> tuple[int, int]:
        """(epoch, funded) of the dataset's valued income."""
        _, epoch, _, funded, _ = self.pool.functions.earningsOf(dataset_id).call()
        return int(epoch), int(funded)

    def live_contributor(self, fingerprint: bytes) -> str | None:
        """The contributor of a recorded contribution with revenue weight (not withdrawn
        nor voided); None otherwise."""
        contributor, _, weight, _ = self.registry.functions.contributionOf(fingerprint).call()
        return str(contributor) if int(contributor, 16) and int(weight) else None

    def rental_payment(self, rental_id: int) -> tuple[int, int]:
        """(datasetId, payment) of an approved rental; (0, 0) for any other."""
        _, dataset_id, _, status, payment, _ = self.escrow.functions.rentalOf(rental_id).call()
        return (int(dataset_id), int(payment)) if status == RENTAL_APPROVED else (0, 0)

    def latest_root(self, dataset_id: int) -> tuple[bytes, int]:
        """(root, total) the next root builds on: the one waiting out its challenge delay,
        else the claimable one (zero root: none yet)."""
        root, _, total, _ = self.pool.functions.pendingEarningsRoot(dataset_id).call()
        if int.from_bytes(root, "big"):
            return bytes(root), int(total)
        root, _, total, _, _ = self.pool.functions.earningsOf(dataset_id).call()
        return bytes(root), int(total)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def sign_attestation(self, attestation: Attestation) -> bytes:
        return sign_attestation(self.signer, attestation, self.chain_id, self.registry_address)

    def sign_earnings_root(self, root: EarningsRoot) -> bytes:
        return sign_earnings_root(self.signer, root, self.chain_id, str(self.pool.address))


@dataclass
class ValidatorNode:
    settings: Settings
    sessions: sessionmaker[Session]
    index: DedupIndex
    intake_key: IntakeKey
    ipfs: IpfsStore
    signer: LocalAccount

    def __post_init__(self) -> None:
        self._chain: NodeChain | None = None
        self._lock = threading.Lock()

    def chain(self) -> NodeChain:
        """Connected on first use (the node starts while the chain is still coming up)."""
        with self._lock:
            if self._chain is None:
                manifest = load_manifest(self.settings.manifest_file)
                w3 = connection.connect(self.settings.chain_rpc_url)
                self._chain = NodeChain(w3, manifest, self.signer)
            return self._chain

    def identity(self) -> ValidatorIdentity:
        chain = self.chain()
        return ValidatorIdentity(
            address=chain.address,
            intake_public_key=self.intake_key.public_spki_base64(),
            chain_id=chain.chain_id,
            registry=chain.registry_address,
            dataset_id=self.settings.dataset_id,
        )


def validator_signer(settings: Settings) -> LocalAccount:
    """The node's own signing key: always configured, never a default (a node signing
    with another's key would count one validator twice)."""
    from eth_account import Account

    if not settings.validator_key:
        raise ConfigurationError(
            "DATADAO_VALIDATOR_KEY is not set: a validator node signs with its own key "
            "(its address must be in the registry's validator set)."
        )
    try:
        return Account.from_key(settings.validator_key)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("DATADAO_VALIDATOR_KEY is not a valid private key.") from exc


@contextmanager
def open_node(settings: Settings) -> Iterator[ValidatorNode]:
    settings.check_profile()
    signer = validator_signer(settings)
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    index = open_index(engine, sessions)
    ipfs = IpfsStore(settings.ipfs_api_url, timeout=30)
    intake_key = IntakeKey(settings.keys_dir / "intake-rsa.pem")
    try:
        yield ValidatorNode(settings, sessions, index, intake_key, ipfs, signer)
    finally:
        index.close()
        ipfs.close()
        engine.dispose()
