"""EIP-712 earnings roots the validators sign for `RevenuePool.postEarningsRoot`.

Must match `EARNINGS_ROOT_TYPEHASH` and the pool's EIP712 domain; `tests/contracts`
checks it against the contract's own `earningsRootDigest`.
"""

from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field

POOL_DOMAIN_NAME = "DataDAO RevenuePool"
POOL_DOMAIN_VERSION = "1"

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
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "EarningsRoot": EARNINGS_ROOT_FIELDS,
        },
        "primaryType": "EarningsRoot",
        "domain": {
            "name": POOL_DOMAIN_NAME,
            "version": POOL_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": pool,
        },
        "message": {
            "datasetId": root.dataset_id,
            "epoch": root.epoch,
            "root": root.root,
            "total": root.total,
            "cid": root.cid,
        },
    }


def sign_earnings_root(
    validator: LocalAccount, root: EarningsRoot, chain_id: int, pool: str
) -> bytes:
    typed = earnings_root_typed_data(root, chain_id, pool)
    return bytes(validator.sign_message(encode_typed_data(full_message=typed)).signature)
