"""PostgreSQL is SIGKILLed mid-run, server and backends, while an intake worker holds
work: the API answers 503 with Retry-After (not 500) until the database is back, the
worker process rides it out, and once the server is started again every accepted upload
is minted, exactly once, with nobody restarting the service or the worker."""

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from dao_service.storage.database import make_engine
from tests.utils import postgres
from tests.utils.chain import Dao
from tests.utils.participants import contribute
from tests.utils.processes import start_worker, wait_until

pytestmark = pytest.mark.skipif(
    not postgres.available(), reason="PostgreSQL server binaries not installed"
)


def export(seed: int) -> bytes:
    return reddit_export(reddit_spec(seed=400 + seed, comments=20, posts=2, account=f"pg{seed}"))


def test_killed_postgresql_is_a_503_and_no_upload_is_lost_or_minted_twice(
    service_settings: Settings, dao: Dao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATADAO_EMBEDDED_WORKER", "false")  # the API process only takes uploads
    with postgres.postgres_server() as server:
        monkeypatch.setenv("DATADAO_DATABASE_URL", server.url)
        get_settings.cache_clear()
        engine = make_engine(server.url)

        def stages() -> list[str]:
            with engine.connect() as db:
                return list(db.execute(text("SELECT stage FROM contributions")).scalars())

        with TestClient(create_app(), raise_server_exceptions=False) as api:
            accepted = [contribute(api, dev_account(2 + i), export(i)) for i in range(3)]
            assert all(r.status_code == 200 for r in accepted), [r.text for r in accepted]
            worker = start_worker(get_settings(), server.url, tmp_path / "worker.log")
            try:
                wait_until(lambda: "MINTED" in stages(), timeout=90, interval=0.05)
                engine.dispose()  # the test's own connections die with the server
                server.kill()

                wallet = {"wallet": dev_account(6).address}
                refused = api.post(
                    "/api/contributions/nonce", json=wallet
                )  # an upload's first step
                assert refused.status_code == 503, refused.text
                assert int(refused.headers["Retry-After"]) > 0
                assert (
                    refused.json()["detail"] == "The database does not answer; try again shortly."
                )
                receipt = api.get(f"/api/contributions/{accepted[0].json()['id']}")
                assert receipt.status_code == 503, receipt.text
                time.sleep(3)  # a worker that died of it would be gone by now
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()

                server.start()
                late = contribute(api, dev_account(6), export(3))
                assert late.status_code == 200, late.text
                wait_until(lambda: stages() == ["MINTED"] * 4, timeout=120, interval=0.2)
                assert worker.poll() is None  # the same worker recovered by itself
            finally:
                worker.terminate()
                worker.wait(timeout=20)
        engine.dispose()
    get_settings.cache_clear()

    events = dao.registry.events.ContributionRecorded().get_logs(from_block=0)
    fingerprints = [e["args"]["fingerprint"] for e in events]
    assert len(fingerprints) == len(set(fingerprints)) == 4  # none lost, none twice
