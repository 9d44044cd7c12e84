"""A throwaway PostgreSQL cluster (Debian's server binaries) on a free loopback port."""

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from tests.utils.processes import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (BIN / "initdb").exists()


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package provides the user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    """One cluster in a folder of its own: started, killed and started again on one port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        initdb = [str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.workdir / "log"
        start = [str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l", str(log)]
        subprocess.run(_as_postgres([*start, "start"]), check=True, capture_output=True)

    def kill(self) -> None:
        """SIGKILL the server and every backend, as a crash or the OOM killer would."""
        postmaster = psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))
        victims = [postmaster, *postmaster.children(recursive=True)]
        for process in victims:
            process.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)

    def stop(self) -> None:
        stop = [str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Yield a started fresh cluster; stop and delete it afterwards."""
    # Under /tmp, not $TMPDIR: the server's Unix socket path must stay under 107 bytes, and
    # the postgres user must be able to reach the folder (a private $TMPDIR may not let it).
    workdir = Path(tempfile.mkdtemp(prefix="datadao-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    server = PostgresServer(workdir)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh cluster; stop and delete it afterwards."""
    with postgres_server() as server:
        yield server.url
