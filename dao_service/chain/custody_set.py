"""The custody node sets as the chain records them (`contracts/CustodyNodeSet.sol`).

Each set (an epoch, from 1) is M of N nodes, each a URL and the public key its shares are
sealed to; the current one is for new contributions, and a contribution stays with the
set its key was split for. The deployment's first set is the constructor's, later ones
a vote's. The service (web3) and the client (its own JSON-RPC) read the same answer,
turned into a `CustodyNodeSet` here.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from dao_service.chain.manifest import DeploymentManifest
from dao_service.exceptions import ConfigurationError

CONTRACT = "CustodyNodeSet"


class CustodyNode(BaseModel):
    """One custody node: where it answers, and the public key shares are sealed to. Its
    share index is its position in the node set, from 1."""

    url: str = Field(pattern=r"^https?://")
    public_key: str = Field(pattern=r"^04[0-9a-f]{128}$", description="uncompressed secp256k1")


class CustodyNodeSet(BaseModel):
    """The nodes that hold the shares of a file key, and how many it takes (M of N)."""

    epoch: int = Field(ge=1, description="the set's number on chain")
    threshold: int = Field(ge=1)
    nodes: list[CustodyNode] = Field(min_length=1, max_length=255)

    @model_validator(mode="after")
    def _fits(self) -> "CustodyNodeSet":
        if self.threshold > len(self.nodes):
            raise ValueError(f"a threshold of {self.threshold} of {len(self.nodes)} nodes")
        if len({n.public_key for n in self.nodes}) != len(self.nodes):
            raise ValueError("two custody nodes share a public key")
        return self

    def named(self, index: int) -> str:
        """How a message names node `index` (1-based)."""
        return f"custody node {index} ({self.nodes[index - 1].url})"


def require_contract(manifest: DeploymentManifest) -> None:
    """ConfigurationError unless the deployment has the contract (one deployed before the
    node set went on chain has not: its set was in the manifest)."""
    if CONTRACT not in manifest.contracts:
        raise ConfigurationError(
            f"The deployment in the manifest has no {CONTRACT} contract: it was deployed "
            "before the custody node set went on chain. Deploy again (scripts/deploy.py with "
            "--custody-node and --custody-threshold; `datadao up` does it for the local stack)."
        )


def parse_node(text: str) -> CustodyNode:
    """`URL=PUBLIC_KEY` (hex, uncompressed, 0x optional) as a node, or ValueError saying why."""
    url, _, public_key = text.partition("=")
    if not public_key:
        raise ValueError(f"{text!r} is not URL=PUBLIC_KEY")
    try:
        return CustodyNode(url=url, public_key=public_key.lower().removeprefix("0x"))
    except ValidationError as exc:
        raise ValueError(
            f"{text!r}: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None


def as_arguments(nodes: Sequence[CustodyNode]) -> list[tuple[bytes, str]]:
    """The nodes as the contract takes them (`Node[]`: public key bytes, URL)."""
    return [(bytes.fromhex(n.public_key), n.url) for n in nodes]


def from_chain(epoch: int, threshold: int, nodes: Sequence[Any]) -> CustodyNodeSet | None:
    """The set the contract answered (None for epoch 0: no custody nodes, file keys stay
    under the service's custody key)."""
    if epoch == 0:
        return None
    try:
        return CustodyNodeSet(
            epoch=epoch,
            threshold=threshold,
            nodes=[CustodyNode(url=url, public_key=bytes(key).hex()) for key, url in nodes],
        )
    except ValidationError as exc:  # the contract checks keys, not URLs' schemes
        raise ConfigurationError(f"Custody node set {epoch} on chain is not usable: {exc}") from exc
