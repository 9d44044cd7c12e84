from collections.abc import Iterator
from pathlib import Path

import pytest

from validators import DedupIndex, Validation, ValidationContext, validate_export

WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER_WALLET = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CHAIN_ID = 31337
REGISTRY = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[DedupIndex]:
    store = DedupIndex(tmp_path / "index.sqlite3")
    yield store
    store.close()


def context(wallet: str = WALLET, **overrides: object) -> ValidationContext:
    return ValidationContext(wallet=wallet, chain_id=CHAIN_ID, registry=REGISTRY, **overrides)  # type: ignore[arg-type]


def run(data: bytes, index: DedupIndex, wallet: str = WALLET, **overrides: object) -> Validation:
    return validate_export(data, context(wallet, **overrides), index)
