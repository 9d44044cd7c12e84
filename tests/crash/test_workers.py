"""Three intake worker processes share the work queue; one is SIGKILLed while it holds
claimed work. Every accepted contribution is stored and minted exactly once, on SQLite and
on PostgreSQL, and waiting mints go out in batches."""

import signal
from collections.abc import Iterator
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

CONTRIBUTIONS = 16
WORKERS = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, service_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("DATADAO_EMBEDDED_WORKER", "false")  # the API process only takes uploads
    if request.param == "sqlite":
        get_settings.cache_clear()
        yield get_settings().database_url
        return
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres.postgres_cluster() as url:
        monkeypatch.setenv("DATADAO_DATABASE_URL", url)
        get_settings.cache_clear()
        yield url
    get_settings.cache_clear()


def test_three_workers_one_killed_mid_work_mint_each_contribution_once(
    database_url: str, dao: Dao, tmp_path: Path
) -> None:
    settings = get_settings()
    with TestClient(create_app()) as api:
        receipts = [
            contribute(
                api,
                dev_account(2 + i % 6),
                reddit_export(reddit_spec(seed=300 + i, comments=30, posts=3, account=f"u{i}")),
            ).json()
            for i in range(CONTRIBUTIONS)
        ]
    assert all(r["accepted"] for r in receipts), receipts
    engine = make_engine(database_url)

    def rows() -> list[tuple[str, str | None, str | None]]:
        with engine.connect() as db:
            query = "SELECT stage, lease_owner, tx_hash FROM contributions ORDER BY id"
            return [tuple(r) for r in db.execute(text(query))]  # type: ignore[misc]

    assert {stage for stage, _, _ in rows()} == {"VALIDATED"}  # nothing ran them yet
    # The victim starts first, so that it surely claims work before the others could
    # take it all (on a loaded machine the three start at very different speeds).
    victim = start_worker(settings, database_url, tmp_path / "w0.log")
    workers = [victim]
    try:
        held_by_victim = f":{victim.pid}:"
        wait_until(
            lambda: any(owner and held_by_victim in owner for _, owner, _ in rows()),
            timeout=60,
            interval=0.005,
        )
        workers += [start_worker(settings, database_url, tmp_path / f"w{i}.log") for i in (1, 2)]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        orphaned = [s for s, owner, _ in rows() if owner and held_by_victim in owner]
        assert orphaned and set(orphaned) != {"MINTED"}, "killed too late to test recovery"
        wait_until(
            lambda: {stage for stage, _, _ in rows()} == {"MINTED"}, timeout=120, interval=0.2
        )
    finally:  # every worker still running, the victim too if the test failed first
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
    final = rows()
    engine.dispose()

    events = dao.registry.events.ContributionRecorded().get_logs(from_block=0)
    fingerprints = [e["args"]["fingerprint"] for e in events]
    assert len(fingerprints) == len(set(fingerprints)) == CONTRIBUTIONS  # each exactly once
    transactions = {tx for _, _, tx in final}
    assert None not in transactions and len(transactions) < CONTRIBUTIONS  # batched
    assert all(owner is None for _, owner, _ in final)  # every lease given back
    for receipt in receipts:
        assert not list(Path(settings.spool_dir).glob(f"{receipt['id']}.bin"))
