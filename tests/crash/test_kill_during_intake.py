"""SIGKILL the service during concurrent intake, restart it: every accepted contribution
ends minted exactly once and nothing accepted is lost."""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import text

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from dao_service.storage.database import make_engine
from tests.utils.chain import Dao
from tests.utils.participants import contribute
from tests.utils.processes import free_port, wait_until

CONTRIBUTIONS = 10


class ServiceProcess:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATADAO_DATA_DIR": str(settings.data_dir),
            "DATADAO_CHAIN_RPC_URL": settings.chain_rpc_url,
            "DATADAO_IPFS_API_URL": os.environ["DATADAO_IPFS_API_URL"],
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            app = ["-m", "uvicorn", "dao_service.main:app", "--host", "127.0.0.1"]
            self.process = subprocess.Popen(
                [sys.executable, *app, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._up, timeout=60)

    def _up(self) -> bool:
        try:
            return httpx.get(self.url + "/api/config", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def service(service_settings: Settings, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(service_settings, tmp_path / "service.log")
    process.start()
    yield process
    process.stop()


def submit(
    url: str, account: LocalAccount, export: bytes, receipts: list[dict], errors: list[str]
) -> None:  # type: ignore[type-arg]
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            response = contribute(client, account, export)  # type: ignore[arg-type]
        if response.status_code == 200:
            receipts.append(response.json())
        else:
            errors.append(response.text)
    except httpx.HTTPError as exc:  # killed mid-request: the client would retry
        errors.append(repr(exc))


def test_sigkill_during_concurrent_intake_mints_each_accepted_contribution_once(
    service: ServiceProcess, dao: Dao, service_settings: Settings
) -> None:
    exports = [
        (
            dev_account(2 + i % 6),
            reddit_export(reddit_spec(seed=100 + i, comments=30, posts=3, account=f"user{i}")),
        )
        for i in range(CONTRIBUTIONS)
    ]
    receipts: list[dict] = []  # type: ignore[type-arg]
    errors: list[str] = []
    threads = [
        threading.Thread(target=submit, args=(service.url, account, export, receipts, errors))
        for account, export in exports
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(receipts) >= 1, timeout=60, interval=0.01)
    service.kill()  # mid-intake: uploads in flight, the worker storing and minting
    for thread in threads:
        thread.join(timeout=60)
    accepted = {r["id"]: r for r in receipts if r["accepted"]}
    assert accepted, errors
    with make_engine(service_settings.database_url).connect() as db:
        stages = [row[0] for row in db.execute(text("SELECT stage FROM contributions"))]
    unfinished = [s for s in stages if s in ("VALIDATED", "STORED", "MINTING")]
    assert unfinished, f"the kill came too late to test recovery: {stages}"

    service.start()
    with httpx.Client(base_url=service.url, timeout=30) as client:

        def all_minted() -> bool:
            return all(
                client.get(f"/api/contributions/{i}").json()["status"] == "minted" for i in accepted
            )

        wait_until(all_minted, timeout=120, interval=0.5)
        final = {i: client.get(f"/api/contributions/{i}").json() for i in accepted}

    for receipt in final.values():
        fingerprint = bytes.fromhex(receipt["attestation"]["fingerprint"][2:])
        assert (
            dao.registry.functions.contributionOf(fingerprint).call()[0] == receipt["contributor"]
        )
    events = dao.registry.events.ContributionRecorded().get_logs(from_block=0)
    # Exactly once: one event per minted contribution (including any the killed requests
    # committed without their client hearing back), and no more tokens than their scores.
    assert len({e["args"]["fingerprint"] for e in events}) == len(events)
    assert len(events) >= len(final)
    assert dao.token.functions.totalSupply().call() == sum(e["args"]["tokens"] for e in events)
    assert {r["attestation"]["fingerprint"] for r in final.values()} <= {
        "0x" + e["args"]["fingerprint"].hex() for e in events
    }
