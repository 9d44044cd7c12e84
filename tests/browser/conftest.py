"""The web form in Debian Chromium (Playwright) against the live service, with a test
EIP-1193 wallet that signs with a real key and can be asked to switch chains."""

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eth_account import Account
from playwright.sync_api import Page, sync_playwright

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings, get_settings
from dao_service.core.paths import PROJECT_ROOT
from dao_service.main import create_app
from tests.utils.chain import Dao
from tests.utils.processes import free_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]  # fmt: skip
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WALLET = dev_account(4)

RECORD_PROGRESS_LABELS = """() => {
  const label = document.getElementById("progress-label");
  window.seenProgress = new Set();
  new MutationObserver(() => window.seenProgress.add(label.textContent))
    .observe(label, {childList: true, characterData: true, subtree: true});
}"""

INJECT_WALLET = """
window.ethereum = {
  isTestWallet: true,
  request: async ({method, params}) => {
    const reply = JSON.parse(await window.walletBridge(method, JSON.stringify(params ?? [])));
    if (reply.error) throw new Error(reply.error);
    return reply.result;
  },
};
"""


class BrowserWallet:
    """The wallet's state: which chain it is on (a test may start it elsewhere)."""

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id
        self.switch_requests: list[int] = []


def wallet_bridge(wallet: BrowserWallet) -> Any:
    def answer(method: str, params_json: str) -> str:
        params = json.loads(params_json)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return json.dumps({"result": [WALLET.address]})
        if method == "eth_chainId":
            return json.dumps({"result": hex(wallet.chain_id)})
        if method == "wallet_switchEthereumChain":
            wallet.chain_id = int(params[0]["chainId"], 16)
            wallet.switch_requests.append(wallet.chain_id)
            return json.dumps({"result": None})
        if method == "eth_signTypedData_v4":
            assert params[0].lower() == WALLET.address.lower()
            signed = Account.sign_typed_data(WALLET.key, full_message=json.loads(params[1]))
            return json.dumps({"result": "0x" + signed.signature.hex().removeprefix("0x")})
        return json.dumps({"error": f"unsupported method {method}"})

    return answer


@pytest.fixture
def live_service(service_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    # OAuth redirects come back to the address the browser uses.
    monkeypatch.setenv("DATADAO_SERVICE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the service did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def wallet(dao: Dao) -> BrowserWallet:
    return BrowserWallet(dao.chain_id)


@pytest.fixture
def page(live_service: str, wallet: BrowserWallet) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `scripts/dev setup` installs Debian's chromium package"
        )
    # Chromium puts a Unix socket in $TMPDIR and dies if that path passes 107 bytes, as
    # under a long CI temp path: give it a short temp folder of its own.
    with tempfile.TemporaryDirectory(prefix="chromium-", dir="/tmp") as short_tmp, \
            sync_playwright() as playwright:  # fmt: skip
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, env={**os.environ, "TMPDIR": short_tmp}
        )
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        context.expose_function("walletBridge", wallet_bridge(wallet))
        context.add_init_script(INJECT_WALLET)
        page = context.new_page()
        yield page
        browser.close()
