"""The earnings table a settlement publishes on IPFS, one per rental: what each live
contribution was worth to the renter's sample and what it was paid, and every account's
cumulative earnings, whose Merkle root goes on-chain. Each table names the one before it.

The service writes it and the client reads it back (`client/valued_earnings.py`) through
this one model, so it imports pydantic only: reading tables must not load the service.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

# Wei amounts are decimal strings in the JSON: they exceed what JavaScript numbers hold.
Wei = Annotated[int, PlainSerializer(str, return_type=str, when_used="json")]


class ContributionShare(BaseModel):
    """One live contribution's measured value to the renter's sample and its amount."""

    model_config = ConfigDict(frozen=True)

    contribution: str  # the contribution's fingerprint
    contributor: str
    source: str
    records: int  # its records that were valued (near copies of earlier ones left out)
    value: float  # the sum of its records' KNN-Shapley values
    amount: Wei


class PublishedTable(BaseModel):
    """One rental's settlement, as published; the fields keep the order they are written in.
    Fields with defaults are absent from tables published before they were added."""

    model_config = ConfigDict(frozen=True)

    dataset_id: int
    epoch: int
    rental_id: int
    sample_sha256: str  # 0x-hex, as recorded on-chain with the rental
    sample_held: bool = True  # False: the service never received it, split by score
    split_by: str = "measured value"  # or why the rental fell back to score
    method: str
    sample_copies_dropped: int = 0  # sample texts left out as near copies of the data
    payment: Wei
    split: Wei  # the payment plus the dust kept from earlier splits
    previous: str | None  # the CID of the dataset's table before this one
    contributions: list[ContributionShare]
    cumulative: dict[str, Wei]  # account -> everything earned by value so far
    root: str  # 0x-hex Merkle root of `cumulative`, posted on-chain
    total: Wei
