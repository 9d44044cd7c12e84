"""Deliver each minted contribution's sealed shares to their custody nodes, signed by the
validator key (a node takes deposits only from the chain's validators). A share leaves
the service's database once its node confirms it holds it; a node that is down gets its
share when it answers again. Shares wait for minting so that a node only ever releases
contributions the chain records. Each share goes to a node of the set its key was split
for (`Contribution.custody_epoch`), whatever set is current now.

Each node has its own courier (one thread): a pass hands every node its shares and waits
a little for the couriers, so a node that hangs holds up only its own deliveries, never
the other nodes' or the next pass. A node that failed is asked again after RETRY_SECONDS."""

import base64
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
NODE_TIMEOUT = (3.0, 10.0)  # connect, read: a deposit is a few kB and ~1 ms of a node's work
PASS_WAIT = 2.0  # seconds a worker's pass waits for the couriers; the rest is counted later
RETRY_SECONDS = 15.0  # a node that failed is skipped this long


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
        PendingShare.node_public_key, PendingShare.sealed_share,
    )
    .join(Contribution, Contribution.id == PendingShare.contribution_id)
    .where(Contribution.stage == Stage.MINTED, Contribution.withdrawn.is_(False))
    .order_by(Contribution.id)
    .limit(BATCH)
)  # fmt: skip


class Courier:
    """One node's deliveries, one at a time, on its own thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custody-delivery")
        self._running: Future[int] | None = None
        self._retry_at = 0.0  # monotonic time before which a failed node is not asked
        self._failing = False  # said once in the log, not each pass

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    def ready(self) -> bool:
        idle = self._running is None or self._running.done()
        return idle and time.monotonic() >= self._retry_at

    def send(
        self,
        sessions: sessionmaker[Session],
        node: CustodyNode,
        shares: list["Waiting"],
        validator: object,
    ) -> "Future[int]":
        self._running = self._thread.submit(self._deliver, sessions, node, shares, validator)
        return self._running

    def _deliver(
        self,
        sessions: sessionmaker[Session],
        node: CustodyNode,
        shares: list["Waiting"],
        validator: object,
    ) -> int:
        delivered = 0
        with requests.Session() as http:
            for share in shares:
                try:
                    reply = http.post(f"{self.url.rstrip('/')}/api/shares",
                                      json=_deposit_body(node, share, validator),
                                      timeout=NODE_TIMEOUT)  # fmt: skip
                    if 400 <= reply.status_code < 500 and reply.status_code != 429:
                        # The node refuses this share (its reason is logged): the share
                        # waits, and the node's next shares are not held up behind it.
                        log.warning("custody node %s refused the share of %s: %s", self.url,
                                    share.public_id, reply.text[:300])  # fmt: skip
                        continue
                    reply.raise_for_status()
                except requests.RequestException as exc:
                    self._retry_at = time.monotonic() + RETRY_SECONDS
                    if not self._failing:
                        self._failing = True
                        log.warning("custody node %s did not take a share (%s); its shares "
                                    "wait, sealed to it", self.url, exc)  # fmt: skip
                    return delivered
                if self._failing:
                    self._failing = False
                    log.info("custody node %s takes shares again", self.url)
                with sessions.begin() as session:
                    session.execute(
                        delete(PendingShare).where(
                            PendingShare.contribution_id == share.sequence,
                            PendingShare.node_public_key == share.node_public_key,
                        )
                    )
                delivered += 1
        return delivered


class ShareDelivery:
    """The couriers of one process's deliveries, one per node."""

    def __init__(self) -> None:
        self._couriers: dict[str, Courier] = {}

    def deliver_pending(
        self,
        sessions: sessionmaker[Session],
        node_set_of: Callable[[int], CustodyNodeSet | None],
        validator: object,
        patience: float | None = PASS_WAIT,
    ) -> int:
        """One pass; how many shares nodes confirmed within `patience` seconds (None: until
        every courier is done; each request is bounded by NODE_TIMEOUT). `node_set_of(epoch)`
        is the chain's set `epoch` (`DaoChain.custody_nodes`). A node still busy with an
        earlier pass's shares, or failed less than RETRY_SECONDS ago, is skipped."""
        with sessions() as session:
            waiting = [Waiting(*cast(tuple[Any, ...], row)) for row in session.execute(WAITING)]
        sets = {e: node_set_of(e) for e in {s.epoch for s in waiting if s.epoch is not None}}
        nodes: dict[tuple[int | None, str], CustodyNode] = {
            (epoch, node.public_key): node
            for epoch, node_set in sets.items()
            for node in (node_set.nodes if node_set else [])
        }
        by_node: dict[tuple[int | None, str], list[Waiting]] = {}
        for share in waiting:
            place = (share.epoch, share.node_public_key)
            if place in nodes:  # else a node no longer in the set: it waits for an operator
                by_node.setdefault(place, []).append(share)
        sent = []
        for place, shares in by_node.items():
            node = nodes[place]
            # A public key belongs to one node of one set (CustodyNodeSet refuses it again).
            courier = self._couriers.setdefault(node.public_key, Courier(node.url))
            if courier.ready():
                sent.append(courier.send(sessions, node, shares, validator))
        done, _ = wait(sent, timeout=patience)
        return sum(future.result() for future in done)

    def close(self) -> None:
        for courier in self._couriers.values():
            courier.close()


def _deposit_body(node: CustodyNode, share: Waiting, validator: object) -> dict[str, Any]:
    text = deposit_text(
        node.public_key, share.sequence, share.public_id, share.dataset_id,
        share.contributor, share.fingerprint, share.cid, share.sha256, share.iv,
        share.sealed_share,
    )  # fmt: skip
    return {
        "sequence": share.sequence, "contribution_id": share.public_id,
        "dataset_id": share.dataset_id, "contributor": share.contributor,
        "fingerprint": share.fingerprint, "cid": share.cid, "sha256": share.sha256,
        "iv": base64.b64encode(share.iv).decode(), "sealed_share": share.sealed_share.hex(),
        "signature": sign_text(validator, text),
    }  # fmt: skip
