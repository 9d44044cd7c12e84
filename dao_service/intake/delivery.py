"""Deliver each minted contribution's sealed shares to their custody nodes, signed by the
validator key (a node takes deposits only from the chain's validators). A share leaves
the service's database once its node confirms it holds it; a node that is down gets its
share when it answers again. Shares wait for minting so that a node only ever releases
contributions the chain records. Each share goes to a node of the set its key was split
for (`Contribution.custody_epoch`), whatever set is current now."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.custody_deposit import deposit_text, sign_text
from dao_service.chain.custody_set import CustodyNode, CustodyNodeSet
from dao_service.models import Contribution, PendingShare, Stage

log = logging.getLogger("dao_service.intake.delivery")

BATCH = 200  # shares a pass delivers, at most
NODE_TIMEOUT = 10.0
# Nodes that failed their last delivery in this process: said once in the log, not each pass.
_FAILING: set[str] = set()


@dataclass(frozen=True)
class Waiting:
    sequence: int
    public_id: str
    dataset_id: int
    contributor: str
    fingerprint: str
    cid: str
    sha256: str
    iv: bytes
    epoch: int | None
    node_public_key: str
    sealed_share: bytes


WAITING = (
    select(
        Contribution.id, Contribution.public_id, Contribution.dataset_id,
        Contribution.contributor, Contribution.fingerprint, Contribution.cid,
        Contribution.refined_sha256, Contribution.iv, Contribution.custody_epoch,
        PendingShare.node_public_key,
        PendingShare.sealed_share,
    )
    .join(Contribution, Contribution.id == PendingShare.contribution_id)
    .where(Contribution.stage == Stage.MINTED, Contribution.withdrawn.is_(False))
    .order_by(Contribution.id)
    .limit(BATCH)
)  # fmt: skip


def deliver_pending(
    sessions: sessionmaker[Session],
    node_set_of: Callable[[int], CustodyNodeSet | None],
    validator: object,
) -> int:
    """One pass; how many shares nodes confirmed. `node_set_of(epoch)` is the chain's set
    `epoch` (`DaoChain.custody_nodes`). A node that fails is skipped for the rest of the
    pass (and said once in the log)."""
    with sessions() as session:
        waiting = [Waiting(*cast(tuple[Any, ...], row)) for row in session.execute(WAITING)]
    sets = {e: node_set_of(e) for e in {s.epoch for s in waiting if s.epoch is not None}}
    nodes: dict[tuple[int | None, str], CustodyNode] = {
        (epoch, node.public_key): node
        for epoch, node_set in sets.items()
        for node in (node_set.nodes if node_set else [])
    }
    unreachable: set[str] = set()
    delivered = 0
    with requests.Session() as http:
        for share in waiting:
            node = nodes.get((share.epoch, share.node_public_key))
            if node is None or node.public_key in unreachable:
                continue  # a node no longer in the set: its share waits for an operator
            text = deposit_text(
                node.public_key, share.sequence, share.public_id, share.dataset_id,
                share.contributor, share.fingerprint, share.cid, share.sha256, share.iv,
                share.sealed_share,
            )  # fmt: skip
            body = {
                "sequence": share.sequence, "contribution_id": share.public_id,
                "dataset_id": share.dataset_id, "contributor": share.contributor,
                "fingerprint": share.fingerprint, "cid": share.cid, "sha256": share.sha256,
                "iv": _b64(share.iv), "sealed_share": share.sealed_share.hex(),
                "signature": sign_text(validator, text),
            }  # fmt: skip
            try:
                reply = http.post(f"{node.url.rstrip('/')}/api/shares", json=body,
                                  timeout=NODE_TIMEOUT)  # fmt: skip
                reply.raise_for_status()
            except requests.RequestException as exc:
                unreachable.add(node.public_key)
                if node.url not in _FAILING:
                    _FAILING.add(node.url)
                    log.warning("custody node %s did not take a share (%s); its shares "
                                "wait, sealed to it", node.url, exc)  # fmt: skip
                continue
            if node.url in _FAILING:
                _FAILING.discard(node.url)
                log.info("custody node %s takes shares again", node.url)
            with sessions.begin() as session:
                session.execute(
                    delete(PendingShare).where(
                        PendingShare.contribution_id == share.sequence,
                        PendingShare.node_public_key == share.node_public_key,
                    )
                )
            delivered += 1
    return delivered


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()
