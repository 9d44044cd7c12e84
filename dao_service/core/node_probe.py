"""Is a custody node up? It answers `/healthz` with the public key the deployment lists
for it. Used by `datadao custody nodes` and the service's `/healthz`."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class NodeProbe:
    url: str
    up: bool
    detail: str  # "12 shares held", "no answer", "answers with another public key"


def probe_node(url: str, public_key: str, timeout: float) -> NodeProbe:
    try:
        health = requests.get(f"{url.rstrip('/')}/healthz", timeout=timeout).json()
        held, up = health["shares_held"], health["public_key"] == public_key
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return NodeProbe(url, False, "no answer")
    return NodeProbe(url, up, f"{held} shares held" if up else "answers with another public key")


def probe_nodes(nodes: list[tuple[str, str]], timeout: float) -> list[NodeProbe]:
    """Each (url, public key) probed at once, in the order given."""
    with ThreadPoolExecutor(max_workers=max(len(nodes), 1)) as pool:
        return list(pool.map(lambda node: probe_node(node[0], node[1], timeout), nodes))
