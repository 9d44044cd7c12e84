"""What a node holds: shares deposited by a validator (the intake worker that made the
key, or `datadao custody migrate`), destroyed once the chain records the contribution
withdrawn or voided."""

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Connection, Engine, delete, func, insert, select

from dao_service.chain.challenges import recover_public_key
from dao_service.chain.custody_deposit import deposit_text
from dao_service.custody.chain import NodeChain
from dao_service.custody.node_key import NodeKey
from dao_service.exceptions import CustodyError, DepositRefused
from dao_service.models import AuditEvent, CustodyShare
from dao_service.storage.database import dialect_insert

ZERO_ADDRESS = "0x" + "00" * 20
POSITIONS = 2**31  # a 32-bit id column (PostgreSQL's integer) holds positions below it


@dataclass(frozen=True)
class Deposit:
    sequence: int  # the service's contribution id: the order every node pages in
    contribution_id: str
    dataset_id: int
    contributor: str
    fingerprint: str
    cid: str
    sha256: str
    iv: bytes
    sealed_share: bytes
    signature: bytes


def deposit(engine: Engine, key: NodeKey, chain: NodeChain, given: Deposit) -> int:
    """Keep the deposited share (once; the same deposit again changes nothing); returns its
    index. Refused unless a validator of the chain signed it for this node, and the chain
    records the contribution, live, for that contributor: a deposit replayed after its
    share was destroyed (withdrawn, voided) brings nothing back."""
    text = deposit_text(
        key.public_key, given.sequence, given.contribution_id, given.dataset_id,
        given.contributor, given.fingerprint, given.cid, given.sha256, given.iv,
        given.sealed_share,
    )  # fmt: skip
    signer_key = recover_public_key(text, given.signature)
    if signer_key is None:
        raise DepositRefused("the deposit's signature is malformed")
    signer = signer_key.to_checksum_address()
    if not chain.is_validator(signer):
        raise DepositRefused(
            f"the deposit is signed by {signer}, which the registry does not list as a validator"
        )
    recorded_for, weight = chain.contribution_status(given.fingerprint)
    if weight == 0 or recorded_for.lower() != given.contributor.lower():
        raise DepositRefused(
            f"the registry records no live contribution {given.fingerprint} of "
            f"{given.contributor} (none, another contributor's, withdrawn or voided)"
        )
    share = key.open_deposit(given.sealed_share, given.contribution_id)
    row = {
        "contribution_id": given.contribution_id,
        "dataset_id": given.dataset_id,
        "contributor": to_checksum_address(given.contributor),
        "fingerprint": given.fingerprint.lower(),
        "cid": given.cid,
        "sha256": given.sha256,
        "iv": given.iv,
        "share_index": share.index,
        "stored_share": key.store(share, given.contribution_id),
    }
    with engine.begin() as connection:
        _keep(connection, row, given.sequence)
    return share.index


def _keep(connection: Connection, row: dict[str, Any], sequence: int) -> None:
    """Insert the share at position `sequence` (every node pages in the service's order)
    or, where another contribution already took that position, after the last: a
    validator's junk deposit under someone else's sequence number blocks nobody's share."""
    insert_share = dialect_insert(connection.engine)(CustodyShare)
    for _ in range(3):
        if _already_held(connection, row):
            return
        taken = connection.execute(
            insert_share.values({**row, "id": sequence}).on_conflict_do_nothing()
        ).rowcount
        if taken:
            return
        last = connection.execute(select(func.max(CustodyShare.id))).scalar_one()
        sequence = max(sequence, int(last or 0) + 1)
        if sequence >= POSITIONS:
            break
    raise CustodyError(f"no position is free for contribution {row['contribution_id']}")


def _already_held(connection: Connection, row: dict[str, Any]) -> bool:
    """True if this very contribution is held; an error if its id or fingerprint is
    another's."""
    held = connection.execute(
        select(CustodyShare.contribution_id, CustodyShare.fingerprint).where(
            (CustodyShare.fingerprint == row["fingerprint"])
            | (CustodyShare.contribution_id == row["contribution_id"])
        )
    ).first()
    if held is None:
        return False
    if tuple(held) == (row["contribution_id"], row["fingerprint"]):
        return True  # the same deposit again
    raise CustodyError(
        f"this node holds another contribution under id {row['contribution_id']} or "
        f"fingerprint {row['fingerprint']}"
    )


def destroy(engine: Engine, chain: NodeChain, fingerprint: str) -> bool:
    """Delete the share of the contribution `fingerprint` once the chain records it
    withdrawn or voided; True if this node held one."""
    contributor, weight = chain.contribution_status(fingerprint)
    if contributor == ZERO_ADDRESS:
        raise DepositRefused(f"the registry records no contribution {fingerprint}")
    if weight > 0:
        raise DepositRefused(
            f"the registry records contribution {fingerprint} as live: its share is "
            "destroyed once it is withdrawn or voided"
        )
    with engine.begin() as connection:
        gone = connection.execute(
            delete(CustodyShare).where(CustodyShare.fingerprint == fingerprint.lower())
        ).rowcount
        connection.execute(
            insert(AuditEvent).values(
                action="destroy", address=contributor, dataset_id=None, outcome="done",
                detail=f"{fingerprint}: {'share destroyed' if gone else 'no share held'}",
            )
        )  # fmt: skip
    return bool(gone)
