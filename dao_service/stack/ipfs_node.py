"""The local IPFS node: js-ipfs 0.66.1 from npm, offline, its RPC API on loopback.

It speaks the Kubo RPC API and produces Kubo's CIDs; production points the service at
any Kubo RPC URL instead.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from dao_service.core import paths
from dao_service.core.config import Settings
from dao_service.exceptions import StackError
from dao_service.stack.process import ManagedProcess


def repo_dir(settings: Settings) -> Path:
    return settings.data_dir / "ipfs"


def _addresses(settings: Settings) -> dict[str, object]:
    host = settings.host
    return {
        "Swarm": [],
        "API": f"/ip4/{host}/tcp/{settings.ipfs_api_port}",
        "Gateway": f"/ip4/{host}/tcp/{settings.ipfs_gateway_port}",
        "RPC": [],
        "Delegates": [],
        "Announce": [],
        "NoAnnounce": [],
    }


def _env(repo: Path) -> dict[str, str]:
    return {"IPFS_PATH": str(repo)}


def prepare_repo(settings: Settings) -> None:
    """Initialise the repo once; on later starts only rewrite the listen addresses.

    A daemon killed hard leaves `repo.lock` and `api` behind, and js-ipfs then refuses to
    start. The caller holds the data directory's supervisor lock, so no other daemon of
    ours uses this repo and those files are stale.
    """
    repo = repo_dir(settings)
    config_path = repo / "config"
    if not config_path.exists():
        if repo.exists():
            shutil.rmtree(repo)  # a half-written init from an interrupted first run
        repo.parent.mkdir(parents=True, exist_ok=True)
        init_config = {
            "Bootstrap": [],
            "Addresses": _addresses(settings),
            "Discovery": {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}},
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(init_config, handle)
        try:
            result = subprocess.run(
                ["node", str(paths.ipfs_cli()), "init", "--emptyRepo", handle.name],
                env={**os.environ, **_env(repo)},
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            os.unlink(handle.name)
        if result.returncode != 0:
            shutil.rmtree(repo, ignore_errors=True)
            raise StackError(f"Initialising the IPFS repo failed:\n{result.stderr.strip()}")
        return
    config = json.loads(config_path.read_text())
    config["Addresses"] = {**config.get("Addresses", {}), **_addresses(settings)}
    tmp = config_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, config_path)
    (repo / "api").unlink(missing_ok=True)
    lock = repo / "repo.lock"
    if lock.is_dir():
        shutil.rmtree(lock)
    else:
        lock.unlink(missing_ok=True)


def ipfs_process(settings: Settings) -> ManagedProcess:
    argv = ["node", str(paths.ipfs_cli()), "daemon", "--offline", "--enable-preload=false"]
    return ManagedProcess(
        "IPFS node", argv, settings.logs_dir / "ipfs.log", env=_env(repo_dir(settings))
    )


def api_http_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.ipfs_api_port}"


def ipfs_answers(http_url: str, timeout: float = 1.0) -> str | None:
    """The node's version if its RPC API answers, else None."""
    try:
        reply = requests.post(f"{http_url}/api/v0/version", timeout=timeout)
        reply.raise_for_status()
        return str(reply.json()["Version"])
    except (requests.RequestException, ValueError, KeyError):
        return None
