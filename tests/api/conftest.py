"""The service in-process (TestClient) on a real anvil, the real contracts and a real IPFS node."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app


@pytest.fixture
def api(service_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


def wait_for_stage(
    client: TestClient, contribution_id: str, stage: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = client.get(f"/api/contributions/{contribution_id}").json()
        if receipt["status"] == stage:
            return receipt
        time.sleep(0.1)
    raise AssertionError(
        f"contribution {contribution_id} stuck at {receipt['status']}: {receipt['last_error']}"
    )


@pytest.fixture
def data_dir(service_settings: Settings) -> Path:
    return service_settings.data_dir


@contextmanager
def running_service() -> Iterator[int]:
    """The service (as the settings now are) on a real uvicorn server on 127.0.0.1, in a
    thread; yields its port."""
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
