"""`datadao up`: start every part of the local stack in order, watch it, stop it cleanly.

Order: chain -> IPFS node -> contracts (scripts/deploy.py) -> custody nodes (any 2 of 3
give a key) -> the two co-validator nodes -> service (which collects their verdicts and
signatures: 2 of the 3 validators sign).
A lock file in the data directory keeps one supervisor per data directory; `run/stack.json` tells
`status` and `down` what runs where. A part that dies is started again, after a delay
that doubles with each failure in a row (RESTART_DELAYS); meanwhile the service answers
503 and uploads wait in the spool. Stopping goes in reverse order with SIGTERM, so anvil
and the IPFS node save their state.
"""

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import IO, Any

import requests

from dao_service.chain.dev_accounts import CO_VALIDATOR_INDEXES, dev_account
from dao_service.core import paths
from dao_service.core.config import Settings
from dao_service.exceptions import DeploymentError, StackError
from dao_service.stack import chain_node, custody_nodes, ipfs_node, platform_standin
from dao_service.stack.process import ManagedProcess, ensure_port_free, pid_alive, tail
from dao_service.stack.running import read_stack, stack_file

GOOD_STATE_COPY_INTERVAL = 10.0
# Seconds before restarting a part that died, by failures in a row; a part that stayed up
# for STAYED_UP seconds starts again from the first delay the next time.
RESTART_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STAYED_UP = 60.0
STAND_IN_APP = "dao_service.stack.platform_standin:create_app"


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived: stop everything that was started."""


@contextmanager
def data_dir_lock(settings: Settings) -> Iterator[IO[str]]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "supervisor.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackError(
                f"A stack is already running for {settings.data_dir} "
                f"(see `datadao status`; stop it with `datadao down`)."
            ) from None
        yield handle


def _raise_stop(signum: int, _frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


def service_env(settings: Settings) -> dict[str, str]:
    return {
        "DATADAO_DATA_DIR": str(settings.data_dir),
        "DATADAO_HOST": settings.host,
        "DATADAO_CHAIN_PORT": str(settings.chain_port),
        "DATADAO_IPFS_API_PORT": str(settings.ipfs_api_port),
        "DATADAO_IPFS_GATEWAY_PORT": str(settings.ipfs_gateway_port),
        "DATADAO_SERVICE_PORT": str(settings.service_port),
        "DATADAO_CHAIN_RPC_URL": settings.chain_rpc_url,
        "DATADAO_IPFS_API_URL": settings.ipfs_api_url,
        "DATADAO_DATABASE_URL": settings.database_url,
        "DATADAO_MANIFEST_PATH": str(settings.manifest_file),
        # No platform is reachable from a local stack: its stand-in answers instead, and
        # its spot-checks inform rather than gate (a fabricated export still fails them).
        **platform_standin.stand_in_env(settings.platform_stand_in_url),
        "DATADAO_REQUIRE_PLATFORM_CHECK": "false",
        # The local stack's convenience: an export is accepted without the account's
        # proof, its binding flagged unproven (the owner who signs in takes it back).
        "DATADAO_REQUIRE_OWNERSHIP_PROOF": "false",
    }


def co_validator_process(settings: Settings, number: int, port: int) -> ManagedProcess:
    """Co-validator node `number` (1, 2): its own data directory (database, intake key),
    its own signing key (anvil's mnemonic account, given here: a node never defaults to
    one), the stack's chain, IPFS node and platform stand-in."""
    data_dir = settings.data_dir / "validators" / str(number)
    signer = dev_account(CO_VALIDATOR_INDEXES[number - 1])
    env = {
        **service_env(settings),
        "DATADAO_DATA_DIR": str(data_dir),
        "DATADAO_DATABASE_URL": f"sqlite:///{data_dir / 'validator.sqlite3'}",
        "DATADAO_SERVICE_PORT": str(port),
        "DATADAO_VALIDATOR_KEY": "0x" + bytes(signer.key).hex(),
    }
    return ManagedProcess(
        f"validator node {number}",
        [sys.executable, "-m", "dao_service.covalidator"],
        settings.logs_dir / f"validator-{number}.log",
        env=env,
    )


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def validator_answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/validator", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def migrate_database(settings: Settings) -> None:
    from dao_service.storage.database import make_engine, migrate

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def service_answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code in (200, 503)
    except requests.RequestException:
        return False


def run_deploy(settings: Settings, log: Callable[[str], None]) -> None:
    """Run scripts/deploy.py against the chain, echoing its lines; fail with its output."""
    argv = [
        sys.executable, str(paths.PROJECT_ROOT / "scripts" / "deploy.py"),
        "--rpc-url", settings.chain_rpc_url,
        "--manifest", str(settings.manifest_file),
        "--build-cache", str(settings.data_dir / "build"),
        # The local nodes' keys are made here, before deploying: they are the first node set.
        *custody_nodes.deploy_flags(settings),
    ]  # fmt: skip
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.logs_dir / "deploy.log", "a") as deploy_log:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert process.stdout is not None
        lines = []
        try:
            for line in process.stdout:
                deploy_log.write(line)
                lines.append(line.rstrip())
                log("  " + line.rstrip())
            code = process.wait()
        except StopRequested:
            process.terminate()
            process.wait()
            raise
    if code != 0:
        raise DeploymentError("Deploying the contracts failed:\n" + "\n".join(lines[-15:]))


def run_stack(
    settings: Settings,
    on_ready: Callable[[dict[str, Any]], None],
    log: Callable[[str], None] = print,
) -> None:
    """Start the stack, call `on_ready`, and keep it running until SIGINT/SIGTERM or a part dies."""
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    started: list[ManagedProcess] = []
    try:
        with data_dir_lock(settings):
            for part, port in (
                ("chain", settings.chain_port),
                ("IPFS API", settings.ipfs_api_port),
                ("IPFS gateway", settings.ipfs_gateway_port),
                ("service", settings.service_port),
                ("platform stand-in", settings.platform_port),
                *(
                    (f"custody node {i + 1}", settings.custody_port + i)
                    for i in range(settings.custody_nodes)
                ),
            ):
                ensure_port_free(part, settings.host, port)

            state = chain_node.state_file(settings)
            warning = chain_node.recover_state(state)
            if warning:
                log(f"warning: {warning}")
            chain_node.keep_good_copy(state)
            log(f"Starting the chain (anvil) on {settings.chain_rpc_url} ...")
            anvil = chain_node.anvil_process(settings)
            anvil.start()
            started.append(anvil)
            anvil.wait_ready(
                lambda: chain_node.chain_answers(settings.chain_rpc_url) is not None, 30
            )

            log(f"Starting the IPFS node on {ipfs_node.api_http_url(settings)} ...")
            ipfs_node.prepare_repo(settings)
            ipfs = ipfs_node.ipfs_process(settings)
            ipfs.start()
            started.append(ipfs)
            ipfs.wait_ready(
                lambda: ipfs_node.ipfs_answers(ipfs_node.api_http_url(settings)) is not None, 90
            )

            log(f"Starting the platform stand-in (Reddit, X) on {settings.platform_stand_in_url}")
            stand_in = ManagedProcess(
                "platform stand-in",
                [sys.executable, "-m", "uvicorn", "--factory", STAND_IN_APP,
                 "--host", settings.host, "--port", str(settings.platform_port)],
                settings.logs_dir / "platforms.log",
                env={"DATADAO_STAND_IN_STATE": str(settings.data_dir / "platforms.json")},
            )  # fmt: skip
            stand_in.start()
            started.append(stand_in)
            stand_in.wait_ready(lambda: service_answers(settings.platform_stand_in_url), 30)

            log("Deploying the contracts ...")
            run_deploy(settings, log)

            nodes = custody_nodes.local_nodes(settings)
            log(
                f"Starting {len(nodes)} custody nodes (any {settings.custody_threshold} give a "
                f"key) on {', '.join(n.url for n in nodes)} ..."
            )
            custody = [custody_nodes.node_process(settings, i) for i in range(1, len(nodes) + 1)]
            for node in custody:
                node.start()
                started.append(node)
            for node, listed in zip(custody, nodes, strict=True):
                node.wait_ready(partial(custody_nodes.node_answers, listed.url), 60)

            migrate_database(settings)  # once, before several processes open it
            co_validators = []
            for number in range(1, len(CO_VALIDATOR_INDEXES) + 1):
                url = f"http://{settings.host}:{free_port(settings.host)}"
                log(f"Starting validator node {number} on {url} ...")
                node = co_validator_process(settings, number, int(url.rsplit(":", 1)[1]))
                node.start()
                started.append(node)
                co_validators.append(url)
            for node, url in zip(started[-len(co_validators) :], co_validators, strict=True):
                node.wait_ready(lambda url=url: validator_answers(url), 60)  # type: ignore[misc]
            workers = settings.api_workers or os.cpu_count() or 1
            log(f"Starting the service on {settings.service_url} ({workers} API processes) ...")
            # The API processes take uploads; one worker process stores and mints, with the
            # co-validators' signatures.
            env = {
                **service_env(settings),
                "DATADAO_EMBEDDED_WORKER": "false",
                "DATADAO_CO_VALIDATORS": ",".join(co_validators),
            }
            service = ManagedProcess(
                "service",
                [sys.executable, "-m", "uvicorn", "dao_service.main:app",
                 "--host", settings.host, "--port", str(settings.service_port),
                 "--workers", str(workers)],
                settings.logs_dir / "service.log",
                env=env,
            )  # fmt: skip
            service.start()
            started.append(service)
            worker = ManagedProcess(
                "intake worker",
                [sys.executable, "-m", "dao_service.worker"],
                settings.logs_dir / "worker.log",
                env=env,
            )
            worker.start()
            started.append(worker)
            service.wait_ready(lambda: service_answers(settings.service_url), 60)

            stack = {
                "supervisor_pid": os.getpid(),
                "started_at": time.time(),
                "settings": {
                    "host": settings.host,
                    "chain_port": settings.chain_port,
                    "ipfs_api_port": settings.ipfs_api_port,
                    "ipfs_gateway_port": settings.ipfs_gateway_port,
                    "service_port": settings.service_port,
                    "platform_port": settings.platform_port,
                    "co_validators": ",".join(co_validators),
                    "custody_port": settings.custody_port,
                },
                "pids": {p.name: p.pid for p in started},
            }
            write_stack(settings, stack)
            on_ready(stack)
            _watch(settings, started, stack, log)
    except StopRequested:
        log("Stopping ...")
    finally:
        for process in reversed(started):
            process.stop()
        stack_file(settings).unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_stack(settings: Settings, stack: dict[str, Any]) -> None:
    tmp = stack_file(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(stack, indent=2))
    os.replace(tmp, stack_file(settings))


class Restarts:
    """When each part that died may start again: RESTART_DELAYS by failures in a row."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.due: dict[str, float] = {}
        self.started: dict[str, float] = {}

    def died(self, name: str, now: float) -> float:
        """Note a death noticed at `now`; returns the delay before the restart."""
        if now - self.started.get(name, now) >= STAYED_UP:
            self.failures[name] = 0
        failures = self.failures.get(name, 0)
        delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
        self.failures[name] = failures + 1
        self.due[name] = now + delay
        return delay

    def ready(self, name: str, now: float) -> bool:
        return name in self.due and now >= self.due[name]

    def restarted(self, name: str, now: float) -> None:
        self.due.pop(name, None)
        self.started[name] = now


def restart(settings: Settings, process: ManagedProcess) -> str | None:
    """Start a part that died again, repairing what a hard kill leaves behind (a truncated
    chain state file, IPFS's stale repo lock); returns a warning to log, if any."""
    warning = None
    if process.name == "chain (anvil)":
        warning = chain_node.recover_state(chain_node.state_file(settings))
    elif process.name == "IPFS node":
        ipfs_node.prepare_repo(settings)
    process.kill_leftovers()
    process.start()
    return warning


def _watch(
    settings: Settings,
    started: list[ManagedProcess],
    stack: dict[str, Any],
    log: Callable[[str], None],
) -> None:
    state = chain_node.state_file(settings)
    last_copy = time.monotonic()
    restarts = Restarts()
    while True:
        time.sleep(0.5)
        now = time.monotonic()
        for process in started:
            if process.running():
                continue
            if process.name not in restarts.due:
                delay = restarts.died(process.name, now)
                log(
                    f"The {process.name} stopped unexpectedly; starting it again in "
                    f"{delay:g} s. Last lines of {process.log_path}:\n{tail(process.log_path, 5)}"
                )
            elif restarts.ready(process.name, now):
                try:
                    warning = restart(settings, process)
                except (OSError, StackError) as exc:
                    restarts.restarted(process.name, now)  # counts as another failure
                    log(f"Could not start the {process.name} again: {exc}")
                    continue
                if warning:
                    log(f"warning: {warning}")
                restarts.restarted(process.name, now)
                stack["pids"][process.name] = process.pid
                write_stack(settings, stack)
                log(f"Started the {process.name} again (pid {process.pid}).")
        if now - last_copy >= GOOD_STATE_COPY_INTERVAL:
            chain_node.keep_good_copy(state)
            last_copy = now


def start_detached(settings: Settings, argv: list[str], timeout: float = 600) -> dict[str, Any]:
    """Run `datadao up` (argv) in the background and wait until its stack is ready."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.logs_dir / "supervisor.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dao_service.cli", *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack = read_stack(settings)
        if stack is not None and stack["supervisor_pid"] == process.pid:
            return stack
        if process.poll() is not None:
            raise StackError(
                f"The stack did not start. Last lines of {log_path}:\n{tail(log_path)}"
            )
        time.sleep(0.2)
    process.terminate()
    raise StackError(f"The stack was not ready within {timeout:.0f} s; see {log_path}.")


def stop_stack(settings: Settings, timeout: float = 60) -> bool:
    """Stop a stack running for this data directory; False if none was running."""
    stack = read_stack(settings)
    if stack is None:
        return False
    pid = int(stack["supervisor_pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    for child in stack["pids"].values():
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    return True
