"""The published earnings table's model reads the tables already on IPFS and writes the
same bytes the service wrote before it had a model."""

import orjson

from dao_service.earnings.table import PublishedTable

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
ROWS = [
    {
        "contribution": "0x" + "ab" * 32,
        "contributor": ALICE,
        "source": "reddit",
        "records": 6,
        "value": 0.012345678901234568,
        "amount": "2999999999999999997",
    },
    {
        "contribution": "0x" + "cd" * 32,
        "contributor": BOB,
        "source": "twitter",
        "records": 1,
        "value": 1.5e-07,
        "amount": "0",
    },
]


def published(**fields: object) -> dict[str, object]:
    """A table as the service built it by hand (wei as decimal strings, in this order)."""
    return {
        "dataset_id": 1,
        "epoch": 2,
        "rental_id": 7,
        "sample_sha256": "0x" + "42" * 32,
        **fields,
        "payment": "3000000000000000000",
        "split": "3000000000000000001",
        "previous": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "contributions": ROWS,
        "cumulative": {ALICE: "123456789012345678901234567890", BOB: "0"},
        "root": "0x" + "07" * 32,
        "total": "123456789012345678901234567890",
    }


def test_a_table_reads_and_writes_back_byte_for_byte() -> None:
    written = orjson.dumps(
        published(
            sample_held=True,
            split_by="score (no contribution helped the sample)",
            method="exact KNN-Shapley (Jia et al. 2019), K=5",
            sample_copies_dropped=2,
        )
    )
    table = PublishedTable.model_validate_json(written)
    assert table.cumulative[ALICE] == 123456789012345678901234567890
    assert [r.amount for r in table.contributions] == [2999999999999999997, 0]
    assert table.model_dump_json().encode() == written


def test_a_table_from_before_the_fallbacks_reads_with_their_defaults() -> None:
    """The first tables had no `sample_held`, `split_by` or `sample_copies_dropped`: the
    sample was always held, the split always by value, no sample text dropped."""
    table = PublishedTable.model_validate_json(orjson.dumps(published(method="KNN-Shapley")))
    assert (table.sample_held, table.split_by, table.sample_copies_dropped) == (
        True,
        "measured value",
        0,
    )
