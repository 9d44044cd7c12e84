"""anvil, with its chain kept in the data directory across restarts.

anvil dumps its state every second (`--state-interval 1`) by overwriting the file in
place, so a kill during a dump can leave a truncated file that anvil then refuses to
load. We keep the last copy that parsed beside it and fall back to that copy.
"""

import json
import os
import shutil
import time
from pathlib import Path

import requests

from dao_service.core import paths
from dao_service.core.config import Settings
from dao_service.stack.process import ManagedProcess


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "chain" / "anvil-state.json"


def _parses(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            json.load(handle)
        return True
    except (OSError, ValueError):
        return False


def keep_good_copy(state: Path) -> None:
    """Copy the state file aside if it parses now (called at start and periodically)."""
    if state.exists() and _parses(state):
        good = state.with_name(state.name + ".good")
        tmp = state.with_name(state.name + ".good.tmp")
        shutil.copyfile(state, tmp)
        os.replace(tmp, good)


def recover_state(state: Path) -> str | None:
    """Make the state file loadable; returns a warning when something had to be repaired."""
    if not state.exists() or _parses(state):
        return None
    good = state.with_name(state.name + ".good")
    broken = state.with_name(f"{state.name}.broken-{int(time.time())}")
    os.replace(state, broken)
    if good.exists() and _parses(good):
        shutil.copyfile(good, state)
        return (
            f"The chain state file was damaged (kept as {broken.name}); "
            f"restored the last good copy."
        )
    return (
        f"The chain state file was damaged (kept as {broken.name}) and no good copy "
        f"exists; the chain starts empty."
    )


def anvil_process(settings: Settings) -> ManagedProcess:
    state = state_file(settings)
    state.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        str(paths.anvil_binary()),
        "--host", settings.host,
        "--port", str(settings.chain_port),
        "--chain-id", str(settings.chain_id),
        "--state", str(state),
        "--state-interval", "1",
    ]  # fmt: skip
    return ManagedProcess("chain (anvil)", argv, settings.logs_dir / "chain.log")


def chain_answers(rpc_url: str, timeout: float = 1.0) -> int | None:
    """The chain id if the JSON-RPC endpoint answers, else None."""
    try:
        reply = requests.post(
            rpc_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=timeout,
        )
        return int(reply.json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError):
        return None
