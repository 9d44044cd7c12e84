"""`/healthz`: is every part the service depends on up? 200 if all are, 503 if not. The
custody nodes are one part, up while M of them answer with their listed keys."""

from typing import Literal

import requests
from fastapi import APIRouter, Response
from pydantic import BaseModel
from web3 import Web3

from dao_service.api.deps import ChainDep, EngineDep, IpfsDep, SettingsDep
from dao_service.chain.connection import contracts_without_code
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.manifest import load_manifest
from dao_service.core.node_probe import probe_nodes
from dao_service.exceptions import DataDaoError
from dao_service.storage.database import ping

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 3.0
# Shorter: the nodes are asked at once, and the supervisor gives /healthz 2 s to answer.
NODE_CHECK_TIMEOUT = 1.0


class PartHealth(BaseModel):
    status: Literal["up", "down"]
    address: str
    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    parts: dict[str, PartHealth]


def _chain(rpc_url: str) -> tuple[bool, str]:
    try:
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": CHECK_TIMEOUT}))
        return True, f"chain id {w3.eth.chain_id}, block {w3.eth.block_number}"
    except (requests.RequestException, OSError, ValueError) as exc:
        return False, f"no answer: {type(exc).__name__}"


def _contracts(settings: SettingsDep) -> tuple[bool, str]:
    try:
        manifest = load_manifest(settings.manifest_file)
        w3 = Web3(
            Web3.HTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": CHECK_TIMEOUT})
        )
        if w3.eth.chain_id != manifest.chain_id:
            return False, f"manifest is for chain {manifest.chain_id}, node is {w3.eth.chain_id}"
        missing = contracts_without_code(w3, manifest)
        if missing:
            return False, "no code at " + ", ".join(missing)
        return True, f"{len(manifest.contracts)} contracts on chain {manifest.chain_id}"
    except DataDaoError as exc:
        return False, exc.user_message
    except (requests.RequestException, OSError, ValueError) as exc:
        return False, f"chain unreachable: {type(exc).__name__}"


def _custody(node_set: CustodyNodeSet) -> tuple[bool, str]:
    """Up while M nodes answer with their listed keys; names each node that does not."""
    probes = probe_nodes([(n.url, n.public_key) for n in node_set.nodes], NODE_CHECK_TIMEOUT)
    answering = sum(p.up for p in probes)
    detail = f"{answering} of {len(probes)} answer (any {node_set.threshold} give a key)" + "".join(
        f"; {node_set.named(i)}: {p.detail}" for i, p in enumerate(probes, start=1) if not p.up
    )
    return answering >= node_set.threshold, detail


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(
    settings: SettingsDep, engine: EngineDep, ipfs: IpfsDep, chain: ChainDep, response: Response
) -> Health:
    parts: dict[str, PartHealth] = {}

    def record(name: str, address: str, ok: bool, detail: str) -> None:
        parts[name] = PartHealth(status="up" if ok else "down", address=address, detail=detail)

    record("chain", settings.chain_rpc_url, *_chain(settings.chain_rpc_url))
    try:
        record("ipfs", settings.ipfs_api_url, True, f"version {ipfs.version()}")
    except Exception as exc:  # any failure of the node or the client means "down"
        record("ipfs", settings.ipfs_api_url, False, f"no answer: {type(exc).__name__}")
    record("contracts", str(settings.manifest_file), *_contracts(settings))
    try:
        ping(engine)
        record("database", engine.url.render_as_string(hide_password=True), True, "reachable")
    except Exception as exc:  # the driver's errors differ per database
        record(
            "database", engine.url.render_as_string(hide_password=True), False, type(exc).__name__
        )
    try:
        node_set = chain().custody_nodes()
    except Exception:  # the chain's and the manifest's failures are reported above
        node_set = None
    if node_set is not None:
        record("custody nodes", f"{len(node_set.nodes)} nodes", *_custody(node_set))
    healthy = all(part.status == "up" for part in parts.values())
    if not healthy:
        response.status_code = 503
    return Health(status="ok" if healthy else "degraded", parts=parts)
