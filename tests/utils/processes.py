"""Real local nodes for tests: a fresh anvil or js-ipfs daemon on a free loopback port."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dao_service.core.config import Settings
from dao_service.stack import chain_node, ipfs_node
from dao_service.stack.process import ManagedProcess


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        chain_port=free_port(),
        ipfs_api_port=free_port(),
        ipfs_gateway_port=free_port(),
        service_port=free_port(),
        platform_port=free_port(),
        custody_port=free_ports(3),
    )


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    while True:
        first = free_port()
        if first + count <= 65535 and all(_free(first + i) for i in range(1, count)):
            return first


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_flags(settings: Settings) -> list[str]:
    """`datadao up` flags that put a stack at `settings`' data directory and ports."""
    return [
        "--data-dir", str(settings.data_dir),
        "--chain-port", str(settings.chain_port),
        "--ipfs-port", str(settings.ipfs_api_port),
        "--gateway-port", str(settings.ipfs_gateway_port),
        "--service-port", str(settings.service_port),
        "--platform-port", str(settings.platform_port),
        "--custody-port", str(settings.custody_port),
    ]  # fmt: skip


@contextmanager
def running_anvil(settings: Settings) -> Iterator[str]:
    anvil = chain_node.anvil_process(settings)
    anvil.start()
    try:
        anvil.wait_ready(lambda: chain_node.chain_answers(settings.chain_rpc_url) is not None, 30)
        yield settings.chain_rpc_url
    finally:
        anvil.stop()


@contextmanager
def running_ipfs(settings: Settings) -> Iterator[str]:
    ipfs_node.prepare_repo(settings)
    node: ManagedProcess = ipfs_node.ipfs_process(settings)
    node.start()
    try:
        node.wait_ready(
            lambda: ipfs_node.ipfs_answers(ipfs_node.api_http_url(settings)) is not None, 90
        )
        yield settings.ipfs_api_url
    finally:
        node.stop()


def run_cli(
    *args: str,
    timeout: float = 300,
    env: dict[str, str] | None = None,
    stdin: str = "",
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `datadao` command line in a child process (`env` adds variables,
    `stdin` is what is typed at its prompts)."""
    return subprocess.run(
        [sys.executable, "-m", "dao_service.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def unwrapped(text: str) -> str:
    """`text` as one line: rich wraps messages (and draws boxes) at the terminal's width,
    which differs between machines; tests compare words, not line breaks."""
    return " ".join(text.translate(str.maketrans("", "", BOX_CHARACTERS)).split())


BOX_CHARACTERS = "│╭╮╰╯─"


def wait_until(check, timeout: float = 30, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def start_worker(settings: Settings, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """An intake worker process (`python -m dao_service.worker`) on the given database,
    with short leases and small mint batches, its output appended to `log`."""
    env = {
        **os.environ,
        "DATADAO_DATA_DIR": str(settings.data_dir),
        "DATADAO_CHAIN_RPC_URL": settings.chain_rpc_url,
        "DATADAO_IPFS_API_URL": settings.ipfs_api_url,
        "DATADAO_DATABASE_URL": database_url,
        "DATADAO_WORK_LEASE_SECONDS": "3",
        "DATADAO_MINT_BATCH_SIZE": "4",
    }
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dao_service.worker"], env=env, stdout=out, stderr=out
        )
