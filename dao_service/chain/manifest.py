"""The deployment manifest: which chain, which addresses, which ABIs.

`scripts/deploy.py` writes it; the service and the CLI read it. It is the only place
the rest of the code learns where the contracts are.
"""

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from dao_service.exceptions import ConfigurationError


class DeployedContract(BaseModel):
    address: str
    abi: list[dict[str, Any]]
    build_hash: str
    block_number: int


class CustodyNode(BaseModel):
    """One custody node: where it answers, and the public key shares are sealed to. Its
    share index is its position in the node set, from 1."""

    url: str = Field(pattern=r"^https?://")
    public_key: str = Field(pattern=r"^04[0-9a-f]{128}$", description="uncompressed secp256k1")


class CustodyNodeSet(BaseModel):
    """The nodes that hold the shares of every file key, and how many it takes (M of N)."""

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


class DeploymentManifest(BaseModel):
    chain_id: int
    deployer: str
    parameters: dict[str, Any]
    contracts: dict[str, DeployedContract]
    # Recorded here, not yet on-chain: see README, "Custody nodes".
    custody: CustodyNodeSet | None = None

    def address_of(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise ConfigurationError(f"The deployment manifest has no contract {name}.") from None


def load_manifest(path: Path) -> DeploymentManifest:
    if not path.exists():
        raise ConfigurationError(
            f"No deployment manifest at {path}. Start the local stack with `datadao up`, "
            f"or point DATADAO_MANIFEST_PATH at the manifest of your deployment."
        )
    try:
        return DeploymentManifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise ConfigurationError(f"The deployment manifest {path} is not valid: {exc}") from exc


def write_manifest(path: Path, manifest: DeploymentManifest) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2))
    os.replace(tmp, path)
