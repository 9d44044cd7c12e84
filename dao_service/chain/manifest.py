"""The deployment manifest: which chain, which addresses, which ABIs.

`scripts/deploy.py` writes it; the service and the CLI read it. It is the only place
the rest of the code learns where the contracts are.
"""

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dao_service.exceptions import ConfigurationError


class DeployedContract(BaseModel):
    address: str
    abi: list[dict[str, Any]]
    build_hash: str
    block_number: int


class DeploymentManifest(BaseModel):
    chain_id: int
    deployer: str
    parameters: dict[str, Any]
    contracts: dict[str, DeployedContract]

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
