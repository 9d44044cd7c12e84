"""The same service on PostgreSQL (by URL) instead of SQLite: migrate, intake, mint, release."""

from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from dao_service.stack.sample_exports import x_archive
from dao_service.storage.database import alembic_config
from tests.api.conftest import wait_for_stage
from tests.utils import postgres
from tests.utils.chain import Dao
from tests.utils.participants import contribute, open_released, request_keys
from validators.refine import from_parquet

pytestmark = pytest.mark.skipif(
    not postgres.available(), reason="PostgreSQL server binaries not installed"
)


@pytest.fixture
def pg_api(
    service_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, str]]:
    with postgres.postgres_cluster() as url:
        monkeypatch.setenv("DATADAO_DATABASE_URL", url)
        get_settings.cache_clear()
        with TestClient(create_app()) as client:
            yield client, url
        get_settings.cache_clear()


def test_intake_and_key_release_on_postgresql(
    pg_api: tuple[TestClient, str], dao: Dao, ipfs
) -> None:  # type: ignore[no-untyped-def]
    api, url = pg_api
    export = x_archive()
    receipt = wait_for_stage(api, contribute(api, dev_account(2), export).json()["id"], "minted")
    renter = dev_account(5)
    dao.as_timelock(dao.access.functions.grantAccess(renter.address, 1, 3600))
    released = request_keys(api, renter).json()["keys"]
    opened = open_released(renter, released[0], ipfs.cat(receipt["cid"]))
    assert from_parquet(opened).num_rows == receipt["records"] > 0
    assert request_keys(api, renter, replay=True).status_code == 403  # unique constraint holds

    engine = create_engine(url)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as db:
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        assert (
            db.execute(text("SELECT count(*) FROM contributions WHERE stage = 'MINTED'")).scalar()
            == 1
        )
        assert db.execute(text("SELECT count(*) FROM audit_events")).scalar() == 3
    engine.dispose()
