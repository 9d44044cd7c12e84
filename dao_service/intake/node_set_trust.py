"""Which custody node sets the intake splits new keys for. The chain records the sets
(CustodyNodeSet), but the service reads the chain through one RPC URL, and whoever answers
it could name a set of their own nodes and receive every new key. So a set is taken only
once trusted: set 1 as the deployment manifest records it (`scripts/deploy.py`'s
parameters, a file the operator keeps), and each later set once M nodes of the set
before it, each reading the chain through its own RPC (`GET /api/node-sets/{epoch}`),
confirm it. A deployment made without custody nodes has no such anchor: its first set
is taken from the chain as read (production refuses to deploy without nodes)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from dao_service.chain.custody_set import CustodyNode, CustodyNodeSet
from dao_service.chain.manifest import DeploymentManifest
from dao_service.exceptions import NodesUnavailable

CONFIRM_TIMEOUT = 5.0


def deployed_set(manifest: DeploymentManifest) -> CustodyNodeSet | None:
    """Set 1 as the deployment was given it (None: deployed without custody nodes)."""
    nodes = manifest.parameters.get("custody_nodes") or []
    if not nodes:
        return None
    return CustodyNodeSet(
        epoch=1,
        threshold=manifest.parameters["custody_threshold"],
        nodes=[CustodyNode(**node) for node in nodes],
    )


class TrustedNodeSets:
    def __init__(self) -> None:
        self._trusted: dict[int, CustodyNodeSet] = {}
        self._anchored: bool | None = None  # read from the manifest at first use
        self._lock = threading.Lock()

    def current(self, chain: Any) -> CustodyNodeSet | None:
        """The chain's current set, once trusted; NodesUnavailable saying why it is not."""
        current: CustodyNodeSet | None = chain.custody_nodes()
        if current is None:
            return None
        with self._lock:
            if self._anchored is None:
                anchor = deployed_set(chain.manifest)
                self._anchored = anchor is not None
                if anchor is not None:
                    self._trusted[anchor.epoch] = anchor
            if self._trusted.get(current.epoch) == current:
                return current
            if current.epoch in self._trusted:
                raise NodesUnavailable(
                    f"The chain, as this service's RPC reads it, names custody node set "
                    f"{current.epoch} unlike the set trusted before: no key is split for it."
                )
            if not self._anchored and not self._trusted:
                self._trusted[current.epoch] = current  # no anchor: see the module's note
                return current
            for epoch in range(max(self._trusted) + 1, current.epoch + 1):
                claimed = current if epoch == current.epoch else chain.custody_nodes(epoch)
                self._confirm(self._trusted[epoch - 1], claimed)
                self._trusted[epoch] = claimed
            return current

    @staticmethod
    def _confirm(voters: CustodyNodeSet, claimed: CustodyNodeSet) -> None:
        def answer(node: CustodyNode) -> CustodyNodeSet | None:
            try:
                reply = requests.get(
                    f"{node.url.rstrip('/')}/api/node-sets/{claimed.epoch}",
                    timeout=CONFIRM_TIMEOUT,
                )
                reply.raise_for_status()
                return CustodyNodeSet.model_validate(reply.json())
            except (requests.RequestException, ValueError):
                return None

        with ThreadPoolExecutor(max_workers=len(voters.nodes)) as pool:
            answers = list(pool.map(answer, voters.nodes))
        agreeing = sum(a == claimed for a in answers)
        if agreeing < voters.threshold:
            raise NodesUnavailable(
                f"Custody node set {claimed.epoch}, as this service's chain RPC reads it, is "
                f"confirmed by {agreeing} of the {len(voters.nodes)} nodes of set "
                f"{voters.epoch} ({voters.threshold} needed, each reading the chain itself): "
                "no key is split for it. Check the RPC URL and those nodes."
            )
