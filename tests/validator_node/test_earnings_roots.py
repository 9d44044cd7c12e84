"""Earnings roots with M of N validators, end to end: the service settles a rental and
posts the root with a co-validator's signature beside its own (2 of 3 required), each
co-validator having checked the published table; a root the table does not make is not
signed."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import CO_VALIDATOR_INDEXES, VALIDATOR_INDEX, dev_account
from dao_service.chain.manifest import DeploymentManifest
from dao_service.chain.merkle import EarningsTree
from dao_service.chain.validator_set import EarningsRootClaim
from dao_service.core.config import Settings, get_settings
from dao_service.earnings.table import PublishedTable
from dao_service.main import create_app
from tests.api.conftest import wait_for_stage
from tests.api.test_earnings import ALICE, CAROL, ETH, GARDEN, ROUTER, export, rent_with_sample
from tests.conftest import DeployDao
from tests.utils.chain import Dao
from tests.utils.participants import contribute
from tests.utils.platform_standin import StandIn
from tests.utils.validator_nodes import ValidatorNodeProcess, post_as, validator_nodes

MALLORY = dev_account(5)
SERVICE = dev_account(VALIDATOR_INDEX)  # the collecting node's validator key
ROOT_SIGNATURE = "/api/earnings-roots/signature"
VALIDATORS = [dev_account(i) for i in (VALIDATOR_INDEX, *CO_VALIDATOR_INDEXES)]


@pytest.fixture
def manifest(deploy_dao: DeployDao) -> DeploymentManifest:
    """The local profile (a rental passes in a few blocks): 2 of 3 signatures."""
    return deploy_dao(validators=[v.address for v in VALIDATORS])


@pytest.fixture
def nodes(
    service_settings: Settings, platform: StandIn, tmp_path: Path
) -> Iterator[list[ValidatorNodeProcess]]:
    with validator_nodes(service_settings, platform.url, VALIDATORS[1:], tmp_path) as running:
        yield running


@pytest.fixture
def collector(
    nodes: list[ValidatorNodeProcess], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("DATADAO_CO_VALIDATORS", ",".join(n.url for n in nodes))
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


def test_a_rental_root_goes_on_chain_with_the_co_validators_signatures(
    collector: TestClient, nodes: list[ValidatorNodeProcess], dao: Dao
) -> None:
    for account, texts in ((ALICE, ROUTER), (CAROL, GARDEN)):
        response = contribute(collector, account, export(texts))
        assert response.json()["accepted"], response.text
        wait_for_stage(collector, response.json()["id"], "minted", timeout=120)
    rental = rent_with_sample(collector, dao, 2 * ETH)
    nodes[0].stop()  # one co-validator away: two of three still sign

    settled = collector.post(f"/api/rentals/{rental}/settle")
    assert settled.status_code == 200, settled.text
    table = settled.json()
    root, epoch, total, _, _ = dao.pool.functions.earningsOf(1).call()
    assert "0x" + root.hex() == table["root"] and epoch == 1 and total == int(table["total_wei"])

    # The table is checked, not taken: a root it does not make is refused, saying why.
    claim = {
        "dataset_id": 1,
        "epoch": 2,
        "root": table["root"],
        "total": str(int(table["total_wei"]) + 1),
        "cid": table["cid"],
    }
    refused = post_as(SERVICE, nodes[1].url, ROOT_SIGNATURE, EarningsRootClaim(**claim))
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "is not the one of this root" in detail and "the next root is 2" not in detail
    assert "do not make this root and total" in detail

    # A forged table whose arithmetic holds but which pays someone who contributed
    # nothing is refused too: each row must be a live contribution of its contributor.
    ipfs = collector.app.state.ipfs  # type: ignore[attr-defined]
    first = PublishedTable.model_validate_json(ipfs.cat(table["cid"]))
    rows = [r.model_copy(update={"contributor": MALLORY.address}) for r in first.contributions]
    cumulative = {**first.cumulative, MALLORY.address: sum(r.amount for r in rows)}
    tree = EarningsTree.of(cumulative)
    forged = first.model_copy(
        update={
            "epoch": 2,
            "previous": table["cid"],
            "contributions": rows,
            "cumulative": cumulative,
            "root": "0x" + tree.root.hex(),
            "total": tree.total,
        }
    )
    forged_claim = {
        "dataset_id": 1,
        "epoch": 2,
        "root": forged.root,
        "total": str(tree.total),
        "cid": ipfs.add(forged.model_dump_json().encode(), pin=True),
    }
    refused = post_as(SERVICE, nodes[1].url, ROOT_SIGNATURE, EarningsRootClaim(**forged_claim))
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert f"is no live contribution of {MALLORY.address}" in detail
    assert "is not the one of this root" not in detail
    assert f"rental {first.rental_id} was settled by an earlier table" in detail

    # A table that adds to made-up earlier amounts (a "previous" table crediting Mallory
    # with everything funded), paying nothing itself, so that it rises by what it pays:
    # refused, the amounts it builds on must make the root the chain holds.
    _, _, _, funded, _ = dao.pool.functions.earningsOf(1).call()
    made_up = first.model_copy(update={"cumulative": {MALLORY.address: funded}})
    made_up_cid = ipfs.add(made_up.model_dump_json().encode(), pin=True)
    stolen = EarningsTree.of({MALLORY.address: funded})
    theft = first.model_copy(
        update={
            "epoch": 2,
            "previous": made_up_cid,
            "contributions": [],
            "cumulative": {MALLORY.address: funded},
            "root": "0x" + stolen.root.hex(),
            "total": stolen.total,
        }
    )
    theft_claim = EarningsRootClaim(
        dataset_id=1,
        epoch=2,
        root=theft.root,
        total=str(stolen.total),
        cid=ipfs.add(theft.model_dump_json().encode(), pin=True),
    )
    refused = post_as(SERVICE, nodes[1].url, ROOT_SIGNATURE, theft_claim)
    assert refused.status_code == 409, refused.text
    assert "is not the one of the chain's root" in refused.json()["detail"]

    # Asked by anyone but a validator (or unsigned), a node does not even look.
    stranger = post_as(MALLORY, nodes[1].url, ROOT_SIGNATURE, EarningsRootClaim(**forged_claim))
    assert stranger.status_code == 403, stranger.text
    assert "is not a validator" in stranger.json()["detail"]
    unsigned = httpx.post(f"{nodes[1].url}{ROOT_SIGNATURE}", json=forged_claim, timeout=60)
    assert unsigned.status_code == 403 and "X-Validator-Signature" in unsigned.text

    # With both co-validators away, one signature of two: nothing is posted, and the
    # settlement says which validators did not sign.
    nodes[1].stop()
    second = rent_with_sample(collector, dao, ETH)
    unsigned = collector.post(f"/api/rentals/{second}/settle")
    assert unsigned.status_code == 503, unsigned.text
    assert "1 of the 2 validator signatures needed" in unsigned.json()["detail"]
    assert dao.pool.functions.earningsOf(1).call()[1] == 1  # still the first root
