"""The web form in Debian Chromium (Playwright): a test EIP-1193 wallet signs with a real
key, the page encrypts and uploads a generated Reddit export, and the receipt appears;
a rejection shows its failed checks; sign-in with the platform; switching chains."""

import os
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Page
from sqlalchemy import text

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import get_settings
from dao_service.core.custody import CustodyKey, open_upload
from dao_service.stack.sample_exports import (
    SECRETS,
    XArchiveSpec,
    reddit_export,
    reddit_full_export,
    reddit_private_files,
    reddit_spec,
    x_archive,
    x_files,
    x_spec,
)
from dao_service.storage.database import make_engine
from dao_service.storage.ipfs import IpfsStore
from tests.browser.conftest import ARTIFACTS, RECORD_PROGRESS_LABELS, WALLET, BrowserWallet
from tests.utils.chain import Dao
from tests.utils.participants import open_released, publish, request_keys
from validators.refine import from_parquet

MEDIA_FILE = 200 << 20  # one video of an X archive


def upload(page: Page, export: Path) -> None:
    page.set_input_files("#export-file", str(export))
    page.click("#contribute")


def test_contributor_encrypts_uploads_and_gets_a_minted_receipt(
    page: Page, live_service: str, dao: Dao, tmp_path: Path
) -> None:
    export = tmp_path / "reddit-export.zip"
    export.write_bytes(reddit_export())
    publish(export.read_bytes())  # the account's items are on the platform
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    assert page.text_content("#connect") == f"Connected: {WALLET.address[:6]}…{WALLET.address[-4:]}"
    assert page.is_hidden("#switch-chain")
    assert page.text_content("#verification-code").startswith("DATADAO-")  # type: ignore[union-attr]
    page.set_input_files("#export-file", str(export))
    page.click("#contribute")
    page.wait_for_selector("#stages li[data-stage=minted].done", timeout=60_000)

    score = int(page.text_content("#score") or 0)
    assert score > 0
    minted = page.text_content("#tokens") or ""
    assert minted[:1].isdigit() and float(minted) > 0  # the receipt says how many were minted
    assert (page.text_content("#cid") or "").startswith("bafkrei")
    assert (page.text_content("#tx") or "").startswith("0x")
    assert page.locator("#breakdown tbody tr").count() == 6  # with the demand line
    spot = page.locator("#checks tr[data-check='platform spot-check'] td")
    assert spot.nth(0).text_content() == "platform spot-check (required)"
    assert spot.nth(1).text_content() == "passed"
    assert float(page.get_attribute("#progress-bar", "value") or 0) == 100
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contribute-receipt.png"), full_page=True)
    assert dao.token.functions.balanceOf(WALLET.address).call() == score * 10**18


def test_upload_progress_bar_moves(page: Page, live_service: str, tmp_path: Path) -> None:
    export = tmp_path / "large-export.zip"
    export.write_bytes(reddit_export(reddit_spec(seed=77, comments=20_000, posts=500)))  # ~1.5 MB
    publish(export.read_bytes())
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
    assert "Encrypting in your browser…" in seen
    assert "Refining a preview of what renters will see…" in seen
    assert "Check the preview; waiting for your wallet's signature…" in seen


def test_rejection_shows_the_failed_checks_and_no_stage_it_did_not_pass(
    page: Page, live_service: str, tmp_path: Path
) -> None:
    fabricated = tmp_path / "fabricated.zip"  # an invented account: nothing on the platform
    fabricated.write_bytes(reddit_export(reddit_spec(seed=31, account="invented_2347")))
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    page.click("#policy summary")
    policy = page.text_content("#policy-table") or ""
    assert "platform spot-check" in policy and "required" in policy
    upload(page, fabricated)
    page.wait_for_selector("#stages li[data-stage=rejected]", timeout=60_000)
    assert page.locator("#stages li").all_text_contents() == ["received", "rejected"]
    assert page.text_content("#verdict") == "Rejected"
    assert "platform spot-check failed" in (page.text_content("#reasons") or "")
    spot = page.locator("#checks tr[data-check='platform spot-check'] td")
    assert spot.nth(1).text_content() == "failed"
    assert "Reddit has no such item" in (spot.nth(2).text_content() or "")
    assert page.is_hidden("#breakdown") and page.is_hidden("#outcome")  # no "Score 0"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contribute-rejected.png"), full_page=True)


def test_the_same_export_again_says_when_it_was_contributed(
    page: Page, live_service: str, tmp_path: Path
) -> None:
    export = tmp_path / "again.zip"
    export.write_bytes(reddit_export(reddit_spec(seed=32)))
    publish(export.read_bytes())
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    upload(page, export)
    page.wait_for_selector("#stages li[data-stage=minted].done", timeout=60_000)
    assert page.is_hidden("#already")
    upload(page, export)
    page.wait_for_selector("#already:not([hidden])", timeout=30_000)
    assert "You already contributed this export on" in (page.text_content("#already") or "")


def test_wallet_on_another_chain_is_offered_the_switch(
    page: Page, live_service: str, wallet: BrowserWallet
) -> None:
    dao_chain, wallet.chain_id = wallet.chain_id, 1
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#switch-chain:not([hidden])")
    assert f"the DAO is on chain {dao_chain}" in (page.text_content("#wallet-status") or "")
    page.click("#switch-chain")
    page.wait_for_selector("#switch-chain[hidden]", state="attached")
    assert wallet.switch_requests == [dao_chain]
    assert page.text_content("#wallet-status") == f"Connected: {WALLET.address}"


def test_sign_in_with_reddit_binds_the_export_account(
    page: Page, live_service: str, tmp_path: Path
) -> None:
    export = tmp_path / "signed.zip"
    export.write_bytes(reddit_export(reddit_spec(seed=33, account="carol_redditor")))
    publish(export.read_bytes())
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#signin-reddit:not([hidden])")
    page.click("#signin-reddit")
    page.wait_for_selector("input[name=account]")  # the platform's sign-in page
    assert urlsplit(page.url).path == "/api/v1/authorize"
    page.fill("input[name=account]", "carol_redditor")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_service}/")  # back on the form; the pass left the address bar
    page.click("#connect")
    page.wait_for_selector("#signin-status:has-text('Signed in with reddit as carol_redditor')")
    upload(page, export)
    page.wait_for_selector("#stages li[data-stage=validated].done", timeout=60_000)
    signed = page.locator("#checks tr[data-check='platform sign-in'] td")
    assert signed.nth(1).text_content() == "passed"
    # The platform named the account; the receipt, kept by the service, does not.
    assert signed.nth(2).text_content() == "signed in with reddit as the account"


def archive_with_media(path: Path, media_bytes: int, spec: XArchiveSpec) -> None:
    """An X archive as people have it: its data files and `media_bytes` of photos and
    videos (random bytes, stored uncompressed as the real ones are)."""
    chunk = 8 << 20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in x_files(spec).items():
            archive.writestr(name, data)
        for number in range(media_bytes // MEDIA_FILE):
            entry = zipfile.ZipInfo(f"data/tweets_media/{number:04d}-video.mp4")
            entry.compress_type = zipfile.ZIP_STORED
            with archive.open(entry, "w") as media:
                for _ in range(MEDIA_FILE // chunk):
                    media.write(os.urandom(chunk))


def test_a_whole_reddit_request_leaves_its_private_files_home_and_previews_the_records(
    page: Page, live_service: str, dao: Dao, tmp_path: Path, ipfs: IpfsStore
) -> None:
    """The export as Reddit sends it, secrets planted in every private file and in the
    texts: the page lists what stays and why, previews the refined records before the
    signature, and what is stored holds none of the secrets."""
    spec = reddit_spec(seed=61, account="whole_61")
    export = tmp_path / "reddit-request.zip"
    export.write_bytes(reddit_full_export(spec))
    publish(export.read_bytes())
    page.goto(live_service + "/")
    page.click("#connect")
    page.wait_for_selector("#verification-code:not(:empty)")
    upload(page, export)
    page.wait_for_selector("#stages li[data-stage=minted].done", timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contribute-whole-export.png"), full_page=True)

    left = page.locator("#left-out tbody tr")
    assert left.count() == len(reddit_private_files())
    row = page.locator("#left-out tr[data-file='messages.csv'] td")
    assert row.nth(1).text_content() == "private messages: never uploaded"
    assert (page.text_content("#kept") or "").startswith("Uploading, encrypted: ")
    preview = page.locator("#preview tbody tr")
    assert 0 < preview.count() <= 10
    shown = page.text_content("#preview") or ""
    assert page.text_content("#preview-schema") == "datadao-records/1"
    records = page.text_content("#records") or ""
    assert records.endswith("of schema datadao-records/1") and int(records.split()[0]) > 0

    secrets = [*SECRETS.private_values(), *SECRETS.public_values(), spec.account]
    assert not [s for s in secrets if s in shown]
    assert "<EMAIL>" in shown or "<PHONE>" in shown or "u/user_" in shown
    settings = get_settings()
    custody = CustodyKey(settings.custody_key, settings.keys_dir / "custody.key")
    with make_engine(settings.database_url).connect() as db:
        cid, wrapped, iv = db.execute(
            text("SELECT cid, wrapped_key, iv FROM contributions WHERE stage = 'MINTED'")
        ).one()
        dumped = " ".join(str(r) for r in db.execute(text("SELECT * FROM contributions")))
    stored = open_upload(custody.unwrap(wrapped), iv, ipfs.cat(cid))
    assert stored[:4] == b"PAR1"  # refined records, not the upload
    assert not [s for s in secrets if s.encode() in stored or s in dumped]

    # Rented: what the renter decrypts is the refined, scrubbed records.
    renter = dev_account(5)
    dao.as_timelock(dao.access.functions.grantAccess(renter.address, 1, 3600))
    (key,) = request_keys(LiveService(live_service), renter).json()["keys"]
    received = from_parquet(open_released(renter, key, ipfs.cat(key["cid"])))
    texts = "\n".join(received.column("text").to_pylist())
    assert "<EMAIL>" in texts and "<PHONE>" in texts and "I agree with u/user_" in texts
    assert not [s for s in secrets if s in str(received.to_pylist())]


class LiveService:
    """The running service as tests.utils.participants calls it (TestClient's `post`)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path: str, json: object) -> requests.Response:
        return requests.post(self.url + path, json=json, timeout=30)


def test_two_gigabyte_archive_uploads_only_its_data_files(
    page: Page, live_service: str, tmp_path: Path
) -> None:
    spec = x_spec(seed=44, tweets=400)
    archive = tmp_path / "twitter-archive-with-media.zip"
    try:
        archive_with_media(archive, 10 * MEDIA_FILE, spec)  # 2.1 GB
        assert archive.stat().st_size > 2_000_000_000
        publish(x_archive(spec))  # the tweets are on X
        page.goto(live_service + "/")
        page.click("#connect")
        page.wait_for_selector("#verification-code:not(:empty)")
        with page.expect_request(
            lambda r: r.url.endswith("/api/contributions") and r.method == "POST", timeout=120_000
        ) as sent:
            upload(page, archive)
        size = int(sent.value.header_value("content-length") or 0)
        assert 0 < size < 2_000_000, size  # the data files, encrypted: not 2 GB
        page.wait_for_selector("#stages li[data-stage=minted].done", timeout=120_000)
        with make_engine(get_settings().database_url).connect() as db:
            stored = db.execute(text("SELECT ciphertext_size FROM contributions")).scalars()
            assert [s < 2_000_000 for s in stored] == [True]
        kept = page.text_content("#kept") or ""
        assert kept.startswith("Uploading, encrypted: data/account.js (only accountId, username")
        assert page.locator("#left-out tbody tr").count() == 10  # the media stay
        assert int(page.text_content("#score") or 0) > 0
    finally:
        archive.unlink(missing_ok=True)
