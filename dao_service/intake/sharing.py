"""What is kept of a stored blob's file key, made where the key is made (refining): with
custody nodes, M-of-N shares, each sealed to one node (`core.shares`), which only that
node opens; without a node set (a deployment that has not added one yet), the key
wrapped under the service's custody key, as before. Nothing else keeps the key: the
refiner drops it once this returns, and the sealed shares leave the service's database
as each node confirms it holds its own (`delivery`)."""

from dataclasses import dataclass, field

from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.core.custody import CustodyKey
from dao_service.core.shares import seal_share, split_key


@dataclass(frozen=True)
class KeptKey:
    wrapped: bytes | None = None  # under the custody key (no node set)
    sealed_shares: dict[str, bytes] = field(default_factory=dict)  # node public key -> share
    epoch: int | None = None  # the node set the shares are for
    # Co-validator address -> the key sealed to its intake key, for the one request that
    # asks it to judge the upload (it seals its own refinement alike, then forgets it).
    for_co_validators: dict[str, str] = field(default_factory=dict)


def keep_key(
    node_set: CustodyNodeSet | None, custody: CustodyKey, contribution_id: str, key: bytes
) -> KeptKey:
    if node_set is None:
        return KeptKey(wrapped=custody.wrap(key))
    shares = split_key(key, node_set.threshold, len(node_set.nodes))
    return KeptKey(
        sealed_shares={
            node.public_key: seal_share(node.public_key, contribution_id, share)
            for node, share in zip(node_set.nodes, shares, strict=True)
        },
        epoch=node_set.epoch,
    )
