"""The web form in Debian Chromium (Playwright): a test EIP-1193 wallet signs with a real
key, the page encrypts and uploads a generated Reddit export, and the receipt appears."""

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
from dao_service.core.config import Settings
from dao_service.core.paths import PROJECT_ROOT
from dao_service.main import create_app
from dao_service.sample_exports import reddit_export, reddit_spec
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


def wallet_bridge(chain_id: int) -> Any:
    def answer(method: str, params_json: str) -> str:
        params = json.loads(params_json)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return json.dumps({"result": [WALLET.address]})
        if method == "eth_chainId":
            return json.dumps({"result": hex(chain_id)})
        if method == "eth_signTypedData_v4":
            assert params[0].lower() == WALLET.address.lower()
            signed = Account.sign_typed_data(WALLET.key, full_message=json.loads(params[1]))
            return json.dumps({"result": "0x" + signed.signature.hex().removeprefix("0x")})
        return json.dumps({"error": f"unsupported method {method}"})

    return answer


@pytest.fixture
def live_service(service_settings: Settings) -> Iterator[str]:
    port = free_port()
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
def page(live_service: str, dao: Dao) -> Iterator[Page]:
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
        context.expose_function("walletBridge", wallet_bridge(dao.chain_id))
        context.add_init_script(INJECT_WALLET)
        page = context.new_page()
        yield page
        browser.close()


def test_contributor_encrypts_uploads_and_gets_a_minted_receipt(
    page: Page, live_service: str, dao: Dao, tmp_path: Path
) -> None:
    export = tmp_path / "reddit-export.zip"
    export.write_bytes(reddit_export())
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    assert page.text_content("#verification-code").startswith("DATADAO-")  # type: ignore[union-attr]
    page.set_input_files("#export-file", str(export))
    page.click("#contribute")
    page.wait_for_selector("#stages li[data-stage=minted].done", timeout=60_000)

    score = int(page.text_content("#score") or 0)
    assert score > 0
    assert (page.text_content("#cid") or "").startswith("bafkrei")
    assert (page.text_content("#tx") or "").startswith("0x")
    assert page.locator("#breakdown tbody tr").count() == 6  # with the demand line
    assert float(page.get_attribute("#progress-bar", "value") or 0) == 100
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contribute-receipt.png"), full_page=True)
    assert dao.token.functions.balanceOf(WALLET.address).call() == score * 10**18


def test_upload_progress_bar_moves(page: Page, live_service: str, tmp_path: Path) -> None:
    export = tmp_path / "large-export.zip"
    export.write_bytes(reddit_export(reddit_spec(seed=77, comments=20_000, posts=500)))  # ~1.5 MB
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(  # ~500 KB/s up: the upload takes a few seconds, so progress events fire
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 500_000},
    )
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    page.set_input_files("#export-file", str(export))
    page.evaluate(RECORD_PROGRESS_LABELS)
    page.click("#contribute")
    page.wait_for_selector("#stages li[data-stage=validated].done", timeout=120_000)
    seen = page.evaluate("() => [...window.seenProgress]")
    uploading = sorted({s for s in seen if s.startswith("Uploading")})
    assert len(uploading) >= 3, seen  # the bar moved through the upload, not just 0 -> 100
    assert "Encrypting in your browser…" in seen and "Waiting for your wallet's signature…" in seen
