"""EIP-712 earnings roots the validators sign for `RevenuePool.postEarningsRoot`.

Must match `EARNINGS_ROOT_TYPEHASH` and the pool's EIP712 domain; `tests/contracts`
checks it against the contract's own `earningsRootDigest`.
"""

from typing import Any

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field

from dao_service.chain.attestations import sign_typed_data, typed_data

POOL_DOMAIN_NAME = "DataDAO RevenuePool"

EARNINGS_ROOT_FIELDS = [
    {"name": "datasetId", "type": "uint32"},
    {"name": "epoch", "type": "uint64"},
    {"name": "root", "type": "bytes32"},
    {"name": "total", "type": "uint256"},
    {"name": "cid", "type": "string"},
]


class EarningsRoot(BaseModel):
    """One dataset's new cumulative earnings root; the tuple goes on-chain as it is."""

    dataset_id: int = Field(ge=0, lt=2**32)
    epoch: int = Field(gt=0, lt=2**64)
    root: bytes = Field(min_length=32, max_length=32)
    total: int = Field(ge=0, lt=2**128)
    cid: str  # the published table (contribution, value, amount) on IPFS

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.dataset_id, self.epoch, self.root, self.total, self.cid)


def earnings_root_typed_data(root: EarningsRoot, chain_id: int, pool: str) -> dict[str, Any]:
    message = {
        "datasetId": root.dataset_id,
        "epoch": root.epoch,
        "root": root.root,
        "total": root.total,
        "cid": root.cid,
    }
    return typed_data(
        "EarningsRoot", EARNINGS_ROOT_FIELDS, message, chain_id, pool, POOL_DOMAIN_NAME
    )


def sign_earnings_root(
    validator: LocalAccount, root: EarningsRoot, chain_id: int, pool: str
) -> bytes:
    return sign_typed_data(validator, earnings_root_typed_data(root, chain_id, pool))
