"""The contributors' page in Debian Chromium with the test wallet: after a rental split by
measured value, the wallet sees its contributions and earnings per rental, claims with
its proof (the wallet sends the transaction), delegates, and withdraws (the wallet signs)."""

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from web3 import Web3

from dao_service.chain import connection
from dao_service.chain.dev_accounts import dev_account
from tests.api.test_earnings import GARDEN, ROUTER, SAMPLE, export, submit_sample
from tests.browser.conftest import ARTIFACTS, CHROMIUM, FLAGS, INJECT_WALLET, WALLET, BrowserWallet
from tests.browser.conftest import wallet_bridge as signing_bridge
from tests.utils.chain import Dao
from tests.utils.participants import contribute

OTHER, RENTER = dev_account(3), dev_account(5)
ETH = 10**18


def wallet_bridge(w3: Web3) -> Any:
    """The test wallet: accounts, typed-data signatures, and transactions it signs and sends."""
    signs = signing_bridge(BrowserWallet(w3.eth.chain_id))

    def answer(method: str, params_json: str) -> str:
        params = json.loads(params_json)
        if method == "eth_sendTransaction":
            tx = params[0]
            assert tx["from"].lower() == WALLET.address.lower()
            receipt = connection.send(
                w3, WALLET, {"to": Web3.to_checksum_address(tx["to"]), "data": tx["data"]}
            )
            return json.dumps({"result": receipt["transactionHash"].to_0x_hex()})
        if method == "eth_getTransactionReceipt":
            reply = w3.provider.make_request("eth_getTransactionReceipt", params)  # type: ignore[arg-type]
            return json.dumps({"result": reply["result"]})
        return str(signs(method, params_json))

    return answer


@pytest.fixture
def page(live_service: str, dao: Dao) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `scripts/dev setup` installs it")
    with tempfile.TemporaryDirectory(prefix="chromium-", dir="/tmp") as short_tmp, \
            sync_playwright() as playwright:  # fmt: skip
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=FLAGS,
            env={**os.environ, "TMPDIR": short_tmp},
        )
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        context.expose_function("walletBridge", wallet_bridge(dao.w3))
        context.add_init_script(INJECT_WALLET)
        page = context.new_page()
        yield page
        browser.close()


def rent_and_settle(service: httpx.Client, dao: Dao) -> int:
    """Contributions from the page's wallet (matching) and another (off-topic), a rental
    with a sample, settled by the service."""
    for account, texts in ((WALLET, ROUTER), (OTHER, GARDEN)):
        receipt = contribute(service, account, export(texts)).json()
        assert receipt["accepted"], receipt
        for _ in range(600):
            if service.get(f"/api/contributions/{receipt['id']}").json()["status"] == "minted":
                break
            time.sleep(0.1)
    stored = submit_sample(service, RENTER, SAMPLE)  # type: ignore[arg-type]
    sample = (bytes.fromhex(str(stored["sha256"])[2:]), int(str(stored["size"])))
    rental_id, proposal_id = dao.rent(RENTER, 2 * ETH, sample=sample)
    dao.vote_through(proposal_id, [WALLET, OTHER])
    dao.queue_and_execute(dao.rental_call(rental_id), OTHER)
    settled = service.post(f"/api/rentals/{rental_id}/settle")
    assert settled.status_code == 200, settled.text
    # And a rental without a sample: split by score, income of the other kind.
    plain_id, plain_proposal = dao.rent(RENTER, ETH)
    dao.vote_through(plain_proposal, [WALLET, OTHER])
    dao.queue_and_execute(dao.rental_call(plain_id), OTHER)
    return rental_id


def service_income(live_service: str) -> dict[str, Any]:
    with httpx.Client(base_url=live_service, timeout=60) as service:
        income: dict[str, Any] = service.get(f"/api/contributors/{WALLET.address}").json()["income"]
    return income


def test_contributor_sees_earnings_claims_delegates_and_withdraws(
    page: Page, live_service: str, dao: Dao
) -> None:
    with httpx.Client(base_url=live_service, timeout=60) as service:
        rental_id = rent_and_settle(service, dao)

    page.goto(live_service + "/mine.html")
    page.click("#connect")
    page.wait_for_selector(".dataset-earnings .rentals tbody tr")
    assert page.locator("#contributions tbody tr").count() == 1
    row = page.locator("#contributions tbody tr").first.text_content() or ""
    assert "generic" in row and "minted" in row
    page.wait_for_selector(".dataset-earnings .rentals tbody tr >> nth=1")
    rows = page.locator(".dataset-earnings .rentals tbody tr").all_text_contents()
    assert f"#{rental_id}" in rows[0] and "measured value" in rows[0] and "ETH" in rows[0]
    assert f"#{rental_id + 1}" in rows[1] and "score" in rows[1]  # income by score shows too
    by_score = dao.pool.functions.claimable(1, WALLET.address).call()
    assert by_score > 0
    shown = page.text_content("#claimable") or ""
    owed = service_income(live_service)
    assert shown == owed["claimable"] != "0 ETH"  # the command line's figure, rounded as it is

    page.click("#claim")
    page.wait_for_selector("#notice:has-text('Claimed')")
    _, _, _, _, paid = dao.pool.functions.earningsOf(1).call()
    claimed = dao.pool.functions.claimedEarnings(1, WALLET.address).call()
    assert claimed == paid > ETH  # the matching contributor took most of the 2 ETH
    assert dao.pool.functions.claimable(1, WALLET.address).call() == 0  # one claim: both kinds
    page.wait_for_selector("#claim:disabled")  # nothing left to claim
    assert page.text_content("#claimable") == "0 ETH"
    assert "claimable 0 ETH" in (page.text_content(".dataset-earnings .summary") or "")

    page.fill("#delegate-to", OTHER.address)
    page.click("#delegate-button")
    page.wait_for_selector("#notice:has-text('now vote through')")
    assert dao.token.functions.delegates(WALLET.address).call() == OTHER.address
    page.wait_for_selector(f"#delegate:has-text('{OTHER.address}')")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contributors-page.png"), full_page=True)

    page.click("#contributions button.withdraw")
    page.wait_for_selector("#notice:has-text('Withdrew contribution')")
    page.wait_for_selector("#contributions tbody tr:has-text('withdrawn')")
    fingerprints = dao.registry.events.ContributionRecorded().get_logs(
        from_block=0, argument_filters={"contributor": WALLET.address}
    )
    fingerprint = fingerprints[0]["args"]["fingerprint"]
    assert dao.registry.functions.contributionOf(fingerprint).call()[2] == 0  # earns no more
