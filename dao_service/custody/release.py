"""A node's release: the renter's signed request is checked exactly as the service
checks it (`dao_service.keys.release`: signature, chain, expiry, a nonce used once in
this node's own database, the grant read through this node's own RPC at a recent block),
then this node's shares, and only its own, are sealed to the renter's wallet key."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select

from dao_service.custody.node_key import NodeKey
from dao_service.keys.release import KeyReleaseService, ReleasedKey
from dao_service.models import CustodyShare

LIVE_SHARES = (
    select(
        CustodyShare.id,
        CustodyShare.contribution_id,
        CustodyShare.cid,
        CustodyShare.sha256,
        CustodyShare.iv,
        CustodyShare.stored_share,
    )
    .where(CustodyShare.dataset_id == bindparam("dataset_id"), CustodyShare.id > bindparam("after"))
    .order_by(CustodyShare.id)
    .limit(bindparam("rows"))
)
OWN_SHARES = LIVE_SHARES.where(CustodyShare.contributor == bindparam("contributor"))


class ShareRelease(KeyReleaseService):
    live_keys = LIVE_SHARES
    own_keys = OWN_SHARES
    custody: NodeKey

    def _encrypt(self, rows: Sequence[Any], public_key: bytes) -> list[ReleasedKey]:
        shares = [self.custody.stored(row.stored_share, row.contribution_id) for row in rows]
        sealed = self.sealing.seal(public_key, [share.value for share in shares])
        return [
            ReleasedKey(row.contribution_id, row.cid, row.sha256, row.iv, item, share.index)
            for row, share, item in zip(rows, shares, sealed, strict=True)
        ]
