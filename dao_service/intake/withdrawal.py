"""Withdrawal on the contributor's signed request: the registry first, then the file key
is destroyed, so a contribution is never left keyless while the chain still counts it.
With custody nodes, each node destroys its share once it reads the withdrawal on its
own chain RPC; the key is gone once N - M + 1 have (fewer than M shares remain)."""

from dataclasses import dataclass, field

import requests
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import recover_typed_signer, withdrawal_typed_data
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.dao import DaoChain
from dao_service.exceptions import ChainRefused, IntakeRefused
from dao_service.intake.receipt import find_contribution
from dao_service.models import AuditEvent, Contribution, PendingShare, Stage

NODE_TIMEOUT = 10.0


@dataclass(frozen=True)
class KeyDestruction:
    """Which custody nodes confirmed they destroyed (or never held) their share."""

    nodes: int
    threshold: int
    confirmed: list[str] = field(default_factory=list)  # node URLs
    unconfirmed: dict[str, str] = field(default_factory=dict)  # node URL -> why

    @property
    def needed(self) -> int:
        """Confirmations after which fewer than M shares can remain: N - M + 1."""
        return self.nodes - self.threshold + 1

    @property
    def key_gone(self) -> bool:
        return len(self.confirmed) >= self.needed


def destroy_shares(node_set: CustodyNodeSet, fingerprint: str) -> KeyDestruction:
    """Ask every node to destroy its share (each checks the withdrawal on its own chain)."""
    done = KeyDestruction(len(node_set.nodes), node_set.threshold)
    for node in node_set.nodes:
        try:
            reply = requests.post(
                f"{node.url.rstrip('/')}/api/shares/destroy",
                json={"fingerprint": fingerprint},
                timeout=NODE_TIMEOUT,
            )
        except requests.RequestException:
            done.unconfirmed[node.url] = "did not answer"
            continue
        if reply.status_code == 200:
            done.confirmed.append(node.url)
        else:
            try:
                done.unconfirmed[node.url] = f"refused: {reply.json()['detail']}"
            except (ValueError, KeyError, TypeError):
                done.unconfirmed[node.url] = f"answered HTTP {reply.status_code}"
    return done


def withdraw(
    sessions: sessionmaker[Session],
    dao: DaoChain,
    public_id: str,
    deadline: int,
    signature: bytes,
) -> tuple[Contribution, KeyDestruction | None]:
    """The contribution `public_id`, withdrawn (as it was, if it already is), and what
    the custody nodes confirmed (asked again on a repeated withdrawal, so a node that was
    down then confirms now): the nodes of the set its key was split for."""
    row = find_contribution(sessions, public_id)
    epoch = row.custody_epoch
    node_set = dao.custody_nodes(epoch) if epoch is not None else None
    if row.withdrawn:
        shredded = destroy_shares(node_set, row.fingerprint or "") if node_set else None
        return row, shredded if row.fingerprint else None
    if row.stage != Stage.MINTED or not row.fingerprint:
        raise IntakeRefused(
            f"Contribution {public_id} is {row.stage.value}; only minted ones can be withdrawn.",
            409,
        )
    fingerprint = bytes.fromhex(row.fingerprint[2:])
    try:
        signer = recover_typed_signer(
            withdrawal_typed_data(fingerprint, deadline, dao.chain_id, dao.registry_address),
            signature,
        )
    except (ValueError, TypeError) as exc:  # e.g. a v that is none of 0, 1, 27, 28
        raise IntakeRefused(f"The withdrawal signature is malformed: {exc}.") from exc
    if signer.lower() != row.contributor.lower():
        raise IntakeRefused(f"The withdrawal is signed by {signer}, not by the contributor.", 403)
    try:
        tx_hash = dao.withdraw(fingerprint, deadline, signature)
    except ChainRefused as exc:
        raise IntakeRefused(f"The registry refused the withdrawal: {exc.reason}.", 409) from exc
    with sessions.begin() as session:
        stored = session.get(Contribution, row.id)
        assert stored is not None
        stored.withdrawn, stored.wrapped_key = True, None  # the key is gone for good
        session.execute(delete(PendingShare).where(PendingShare.contribution_id == row.id))
        session.add(
            AuditEvent(
                action="withdraw",
                address=row.contributor,
                dataset_id=row.dataset_id,
                outcome="done",
                detail=f"{public_id} in tx {tx_hash}; key destroyed",
            )
        )
    return stored, destroy_shares(node_set, row.fingerprint) if node_set else None
