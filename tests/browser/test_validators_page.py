"""The web form with three validators, two of whom must sign: the page wraps the file key
to each validator node /api/config lists, each node opens and judges the upload itself,
and the contribution mints with their signatures."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from dao_service.chain.dev_accounts import CO_VALIDATOR_INDEXES, VALIDATOR_INDEX, dev_account
from dao_service.chain.manifest import DeploymentManifest
from dao_service.core.config import Settings, get_settings
from dao_service.models import Contribution
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from dao_service.storage.database import make_engine, session_factory
from tests.browser.conftest import WALLET
from tests.conftest import DeployDao
from tests.utils.chain import Dao
from tests.utils.participants import publish
from tests.utils.platform_standin import StandIn
from tests.utils.validator_nodes import validator_nodes

CO_VALIDATORS = [dev_account(i) for i in CO_VALIDATOR_INDEXES]


@pytest.fixture
def manifest(deploy_dao: DeployDao) -> DeploymentManifest:
    validators = [v.address for v in (dev_account(VALIDATOR_INDEX), *CO_VALIDATORS)]
    return deploy_dao(validators=validators)  # the local profile: 2 of 3


@pytest.fixture
def service_settings(
    service_settings: Settings,
    platform: StandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The service's settings, with two co-validator nodes running beside it."""
    with validator_nodes(service_settings, platform.url, CO_VALIDATORS, tmp_path) as nodes:
        monkeypatch.setenv("DATADAO_CO_VALIDATORS", ",".join(n.url for n in nodes))
        get_settings.cache_clear()
        yield get_settings()


def test_the_page_wraps_the_key_to_every_validator_and_mints_with_two_of_three(
    page: Page, live_service: str, dao: Dao, service_settings: Settings, tmp_path: Path
) -> None:
    export = tmp_path / "reddit-export.zip"
    export.write_bytes(reddit_export(reddit_spec(seed=2105, account="page_user")))
    publish(export.read_bytes())
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    page.set_input_files("#export-file", str(export))
    page.click("#contribute")
    page.wait_for_selector("#stages li[data-stage=minted].done", timeout=90_000)

    engine = make_engine(service_settings.database_url)
    with session_factory(engine)() as session:
        row = session.scalars(
            select(Contribution).where(Contribution.contributor == WALLET.address)
        ).one()
    engine.dispose()
    verdicts = {v["validator"]: v for v in row.report["verdicts"]}
    for node in CO_VALIDATORS:  # each opened the upload with the key the page wrapped to it
        assert verdicts[node.address]["status"] == "agrees", verdicts[node.address]
        assert verdicts[node.address]["refined_sha256"] == row.refined_sha256
    assert len(row.attestation_signature.split(",")) == 3  # type: ignore[union-attr]
    assert dao.token.functions.balanceOf(WALLET.address).call() == row.score * 10**18
