"""The service in-process (TestClient) on a real anvil, the real contracts and a real IPFS node."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import uvicorn
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from dao_service.client.contribute import sign_typed
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from tests.utils.platform_standin import approve_on_stand_in


@pytest.fixture
def api(service_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


def sign_in_start(api: TestClient, platform: str, wallet: LocalAccount, **tamper: Any) -> Any:
    """The start of a sign-in as the form makes it: the wallet signs the service's
    request (`signer` another key, or `request` fields changed), then the redirect."""
    request = api.get(f"/api/signin/{platform}/request", params={"wallet": wallet.address})
    assert request.status_code == 200, request.text
    asked = request.json()
    signature = sign_typed(tamper.pop("signer", wallet), asked["typed_data"])
    params = {"wallet": wallet.address, "nonce": asked["nonce"], "expires": asked["expires"],
              "signature": signature, "return_to": "/", **tamper}  # fmt: skip
    return api.get(f"/api/signin/{platform}", params=params, follow_redirects=False)


def sign_in(api: TestClient, platform: str, wallet: LocalAccount, account: str) -> str:
    """The whole browser round trip; the sign-in pass the form receives."""
    start = sign_in_start(api, platform, wallet)
    assert start.status_code == 302, start.text
    callback = urlsplit(approve_on_stand_in(start.headers["location"], account))
    back = api.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert back.status_code == 302, back.text
    location = back.headers["location"]
    assert location.startswith("/#signin=")
    return unquote(location.removeprefix("/#signin="))


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
