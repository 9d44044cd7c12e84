"""Faults survived under `datadao up`: the IPFS node, the chain, the service's uvicorn
master and the intake worker are SIGKILLed mid-run; the supervisor starts each again by
itself (it stopped the whole stack), uploads taken meanwhile wait in the spool, none is
lost and none is minted twice."""

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from dao_service.chain import connection
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import load_manifest
from dao_service.core.config import Settings, get_settings
from dao_service.stack.platform_standin import stand_in_env
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.utils.participants import contribute
from tests.utils.processes import port_flags, run_cli, settings_for, wait_until

ACCOUNTS = [dev_account(2), dev_account(3), dev_account(4)]


def pids(settings: Settings) -> dict[str, int]:
    return dict(json.loads((settings.run_dir / "stack.json").read_text())["pids"])


def upload(api: httpx.Client, seed: int) -> dict[str, Any]:
    """One contribution, retried as a client would while the service answers 503."""
    export = reddit_export(reddit_spec(seed=seed, comments=10, posts=2, account=f"user{seed}"))
    deadline = time.monotonic() + 60
    while True:
        try:
            response = contribute(api, ACCOUNTS[seed % 3], export)  # type: ignore[arg-type]
        except httpx.TransportError:  # the service itself is restarting
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
            continue
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        assert int(response.headers["Retry-After"]) > 0
        time.sleep(1)
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()
    assert receipt["accepted"], receipt
    return receipt


def safe_pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def statuses(api: httpx.Client, ids: list[str]) -> list[str]:
    try:
        return [api.get(f"/api/contributions/{i}").json()["status"] for i in ids]
    except (httpx.HTTPError, ValueError):
        return []


def test_killed_ipfs_and_chain_are_restarted_and_no_upload_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path / "data")
    for name, value in stand_in_env(settings.platform_stand_in_url).items():
        monkeypatch.setenv(name, value)  # `contribute` publishes the export there
    get_settings.cache_clear()
    try:
        # Two API processes: a uvicorn master with children, as in production.
        up = run_cli("up", "--detach", *port_flags(settings), "--api-workers", "2")
        assert up.returncode == 0, up.stdout + up.stderr
        ids: list[str] = []
        with httpx.Client(base_url=settings.service_url, timeout=60) as api:
            ids.append(upload(api, 1)["id"])
            wait_until(lambda: statuses(api, ids) == ["minted"], timeout=60, interval=0.2)

            ipfs = pids(settings)["IPFS node"]
            os.kill(ipfs, signal.SIGKILL)
            ids.append(upload(api, 2)["id"])  # taken: it waits in the spool
            wait_until(lambda: pids(settings)["IPFS node"] != ipfs, timeout=30)
            wait_until(lambda: set(statuses(api, ids)) == {"minted"}, timeout=60, interval=0.2)

            chain = pids(settings)["chain (anvil)"]
            os.kill(chain, signal.SIGKILL)
            ids.append(upload(api, 3)["id"])  # 503 with Retry-After until the chain is back
            assert pids(settings)["chain (anvil)"] != chain
            ids.append(upload(api, 4)["id"])
            manifest = load_manifest(settings.manifest_file)
            w3 = connection.connect(settings.chain_rpc_url)
            registry = connection.contract(w3, manifest, "ContributionRegistry")

            def recorded() -> list[str]:
                events = registry.events.ContributionRecorded().get_logs(from_block=0)
                return ["0x" + e["args"]["fingerprint"].hex() for e in events]

            def all_minted_on_chain() -> bool:
                # A mint in anvil's last second before the kill is lost with it; the
                # worker notices (it checks the minted again) and mints it once more.
                if set(statuses(api, ids)) != {"minted"}:
                    return False
                receipts = [api.get(f"/api/contributions/{i}").json() for i in ids]
                return {r["attestation"]["fingerprint"] for r in receipts} == set(recorded())

            wait_until(all_minted_on_chain, timeout=90, interval=0.5)

            # The uvicorn master dies hard: its worker processes are cleared away with it,
            # or the one started again could not take the port.
            service, worker = pids(settings)["service"], pids(settings)["intake worker"]
            os.kill(service, signal.SIGKILL)
            os.kill(worker, signal.SIGKILL)
            wait_until(lambda: pids(settings)["service"] != service, timeout=30)
            wait_until(lambda: pids(settings)["intake worker"] != worker, timeout=30)
            ids.append(upload(api, 5)["id"])
            wait_until(all_minted_on_chain, timeout=90, interval=0.5)
            assert psutil.pid_exists(pids(settings)["service"])  # it took the port
            orphans = [p for p in psutil.process_iter() if safe_pgid(p.pid) == service]
            assert not orphans  # the dead master's children went with it

            # Both co-validator nodes die hard: started again, each with its own database
            # (its index and verdicts kept), and 2 of 3 sign again.
            nodes = {n: pids(settings)[n] for n in ("validator node 1", "validator node 2")}
            for pid in nodes.values():
                os.kill(pid, signal.SIGKILL)
            for name, pid in nodes.items():
                wait_until(lambda name=name, pid=pid: pids(settings)[name] != pid, timeout=30)  # type: ignore[misc]
            ids.append(upload(api, 6)["id"])  # 503 with Retry-After until they answer
            wait_until(all_minted_on_chain, timeout=90, interval=0.5)

        fingerprints = recorded()
        assert len(set(fingerprints)) == len(fingerprints) == len(ids)  # none twice, none lost
        log = (settings.logs_dir / "supervisor.log").read_text()
        assert "The IPFS node stopped unexpectedly; starting it again" in log
        assert "The chain (anvil) stopped unexpectedly; starting it again" in log
        assert "The service stopped unexpectedly; starting it again" in log
        assert "The intake worker stopped unexpectedly; starting it again" in log
        assert "The validator node 1 stopped unexpectedly; starting it again" in log
    finally:
        down = run_cli("down", "--data-dir", str(settings.data_dir))
        assert down.returncode == 0, down.stdout + down.stderr
        get_settings.cache_clear()
