"""The local stack's custody nodes: `custody_nodes` processes on loopback, each with its
own key file and SQLite database under `<data dir>/custody/node-<i>/`, reading the same
anvil through its own connection. Their keys are made here, for the local stack only
(`DATADAO_NODE_GENERATE_KEY`), before the contracts are deployed: the deployment records
them as its first custody node set (`CustodyNodeSet`, `deploy_flags`)."""

import sys

import requests

from dao_service.chain.custody_set import CustodyNode
from dao_service.core.config import Settings
from dao_service.core.custody import read_secret
from dao_service.core.files import write_private_file
from dao_service.core.shares import new_node_key, node_public_key
from dao_service.stack.process import ManagedProcess


def node_url(settings: Settings, index: int) -> str:
    return f"http://{settings.host}:{settings.custody_port + index - 1}"


def node_env(settings: Settings, index: int) -> dict[str, str]:
    folder = settings.custody_dir / f"node-{index}"
    return {
        "DATADAO_NODE_KEY_FILE": str(folder / "node.key"),
        "DATADAO_NODE_GENERATE_KEY": "true",
        "DATADAO_NODE_DATABASE_URL": f"sqlite:///{folder / 'node.sqlite3'}",
        "DATADAO_NODE_CHAIN_RPC_URL": settings.chain_rpc_url,
        "DATADAO_NODE_MANIFEST_PATH": str(settings.manifest_file),
        "DATADAO_NODE_HOST": settings.host,
        "DATADAO_NODE_PORT": str(settings.custody_port + index - 1),
    }


def node_public_keys(settings: Settings) -> list[str]:
    """Each local node's public key, its key made first if it has none yet."""
    keys = []
    for index in range(1, settings.custody_nodes + 1):
        path = settings.custody_dir / f"node-{index}" / "node.key"
        if not path.exists():
            write_private_file(path, new_node_key().hex().encode())
        keys.append(node_public_key(bytes.fromhex(read_secret(path).decode().strip())))
    return keys


def local_nodes(settings: Settings) -> list[CustodyNode]:
    """The local nodes in share-index order, their keys made first if they have none yet."""
    return [
        CustodyNode(url=node_url(settings, i), public_key=key)
        for i, key in enumerate(node_public_keys(settings), start=1)
    ]


def deploy_flags(settings: Settings) -> list[str]:
    """scripts/deploy.py's flags that make the local nodes the deployment's first set."""
    flags = ["--custody-threshold", str(settings.custody_threshold)]
    for node in local_nodes(settings):
        flags += ["--custody-node", f"{node.url}={node.public_key}"]
    return flags


def node_process(settings: Settings, index: int) -> ManagedProcess:
    return ManagedProcess(
        f"custody node {index}",
        [sys.executable, "-m", "dao_service.custody_node"],
        settings.logs_dir / f"custody-node-{index}.log",
        env=node_env(settings, index),
    )


def node_answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
