"""Child processes of the stack: start with a log file, wait until ready, stop cleanly."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dao_service.exceptions import PortInUseError, StackError


def ensure_port_free(part: str, host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUseError(part, host, port) from exc


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ManagedProcess:
    """One child of the stack, in its own session so a terminal's Ctrl-C reaches only
    the supervisor, which then stops the children in order (each saves its state)."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, check: Callable[[], bool], timeout: float) -> None:
        """Poll `check` until it passes; fail early, with the log's tail, if the child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise StackError(
                    f"The {self.name} exited during start-up. Last lines of {self.log_path}:\n"
                    f"{tail(self.log_path)}"
                )
            if check():
                return
            time.sleep(0.1)
        self.stop()
        raise StackError(
            f"The {self.name} did not become ready within {timeout:.0f} s. "
            f"Last lines of {self.log_path}:\n{tail(self.log_path)}"
        )

    def kill_leftovers(self) -> None:
        """SIGKILL what is left of a dead child's process group: a uvicorn master killed
        hard leaves its worker processes holding the port, and the next start would fail."""
        if self.process is None or self.running():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: pgid == its pid

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (so anvil and IPFS save their state), then SIGKILL after `timeout`."""
        if not self.running():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
