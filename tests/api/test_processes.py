"""Two API processes against one database: upload rate limits are shared, not per process."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.utils.participants import contribute
from tests.utils.processes import free_port, wait_until


def answers(url: str) -> bool:
    try:
        return httpx.get(url + "/api/config", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def two_api_processes(service_settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "DATADAO_DATA_DIR": str(service_settings.data_dir),
        "DATADAO_CHAIN_RPC_URL": service_settings.chain_rpc_url,
        "DATADAO_IPFS_API_URL": service_settings.ipfs_api_url,
        "DATADAO_UPLOADS_PER_WALLET_PER_HOUR": "2",
    }
    processes, urls = [], []
    for i in range(2):
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "dao_service.main:app", "--port", str(port)]
        with open(tmp_path / f"api{i}.log", "ab") as log:
            processes.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
        wait_until(lambda url=urls[-1]: answers(url), timeout=60)  # type: ignore[misc]
    yield urls
    for process in processes:
        process.terminate()
        process.wait(timeout=20)


def test_the_wallet_rate_limit_counts_uploads_to_every_api_process(
    two_api_processes: list[str],
) -> None:
    alice = dev_account(2)
    statuses = []
    for i, url in enumerate([*two_api_processes, two_api_processes[0]]):
        export = reddit_export(reddit_spec(seed=500 + i, comments=20, account=f"r{i}"))
        with httpx.Client(base_url=url, timeout=60) as client:
            statuses.append(contribute(client, alice, export).status_code)  # type: ignore[arg-type]
    # Per process, the third upload would be the second to process A: allowed. Shared: refused.
    assert statuses == [200, 200, 429]
