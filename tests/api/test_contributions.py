"""Intake through the API on a real anvil, real contracts and a real IPFS node."""

import hashlib
import time
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from dao_service.chain.attestations import sign_withdrawal
from dao_service.chain.dev_accounts import dev_account
from dao_service.stack.sample_exports import (
    reddit_export,
    reddit_files,
    reddit_spec,
    with_checkfile,
    x_archive,
    x_files,
    x_spec,
    zip_files,
)
from tests.api.conftest import wait_for_stage
from tests.utils.chain import Dao
from tests.utils.mutations import mutated
from tests.utils.participants import contribute, open_released, request_keys
from validators.refine import from_parquet

ALICE, BOB, RENTER = dev_account(2), dev_account(3), dev_account(5)


MARKER = "zebracorn quasar marmalade telescope"


def test_accepted_export_is_stored_encrypted_and_minted(
    api: TestClient, dao: Dao, ipfs, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    spec = reddit_spec()
    spec.comments[0]["body"] = (
        f"A comment with {MARKER} in it, long enough to count as substantive text."
    )
    plaintext = zip_files(with_checkfile(reddit_files(spec)))
    response = contribute(api, ALICE, plaintext)
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["accepted"] and receipt["score"] > 0
    assert [s["name"] for s in receipt["stages"]] == ["received", "validated", "stored", "minted"]

    minted = wait_for_stage(api, receipt["id"], "minted")
    assert minted["cid"].startswith("bafkrei") and minted["tx_hash"].startswith("0x")
    assert minted["report"]["breakdown"][-1]["signal"] == "score"
    assert minted["attestation"]["contributor"] == ALICE.address and minted["signatures"]
    assert dao.token.functions.balanceOf(ALICE.address).call() == minted["score"] * 10**18
    stored = ipfs.cat(minted["cid"])
    assert stored != plaintext and plaintext[:64] not in stored  # ciphertext only
    assert ipfs.pinned(minted["cid"])
    assert not list((data_dir / "spool").iterdir())  # nothing left waiting
    for path in data_dir.rglob("*"):  # plaintext never reached the disk
        if path.is_file() and path.stat().st_size < 50_000_000:
            content = path.read_bytes()
            assert MARKER.encode() not in content and b"alice_redditor" not in content, path


def test_each_validator_reason_reaches_the_response(api: TestClient) -> None:
    files = with_checkfile(reddit_files(reddit_spec()))
    files["comments.csv"] = files["comments.csv"].replace(b"python", b"pyth0n", 1)
    tampered = contribute(api, ALICE, zip_files(files)).json()
    assert tampered["status"] == "rejected" and not tampered["accepted"]
    assert any("does not match its checkfile SHA-256" in r for r in tampered["rejection_reasons"])
    assert [s["name"] for s in tampered["stages"]] == ["received", "rejected"]
    assert tampered["cid"] is None and tampered["tx_hash"] is None

    broken = contribute(api, ALICE, b"PK\x03\x04 not really a zip").json()
    assert any("zip" in r for r in broken["rejection_reasons"])


def test_hostile_uploads_are_rejections_with_reasons_never_5xx(api: TestClient) -> None:
    files = x_files(x_spec(seed=22, tweets=12))  # as uploaded
    nested = "[" * 5_000 + "]" * 5_000
    files["data/tweets.js"] = f"window.YTD.tweets.part0 = [{nested}]".encode()
    uploads = [zip_files(files, zipfile.ZIP_STORED)] + [mutated(seed)[1] for seed in range(8)]
    for number, plaintext in enumerate(uploads):
        response = contribute(api, dev_account(6 + number % 3), plaintext)
        assert response.status_code < 500, response.text
        receipt = response.json()
        assert receipt["accepted"] or all(r.strip() for r in receipt["rejection_reasons"])
        assert number > 0 or not receipt["accepted"]
    assert "nested too deeply" in " ".join(
        contribute(api, BOB, uploads[0]).json()["rejection_reasons"]
    )


def test_same_export_twice_mints_once(api: TestClient, dao: Dao) -> None:
    export = x_archive()
    first = contribute(api, ALICE, export).json()
    wait_for_stage(api, first["id"], "minted")
    again = contribute(api, ALICE, export).json()
    assert again["id"] == first["id"]
    assert first["already_contributed_at"] is None
    assert abs(again["already_contributed_at"] - time.time()) < 300  # when: just now
    other_wallet = contribute(api, BOB, export).json()  # someone else's copy of it
    assert other_wallet["status"] == "rejected"
    assert dao.token.functions.totalSupply().call() == first["score"] * 10**18


def test_bad_requests_get_4xx_json_naming_what_was_wrong(api: TestClient) -> None:
    forged = contribute(api, ALICE, reddit_export(), signer=BOB)
    assert forged.status_code == 403 and "not by the contributor" in forged.json()["detail"]
    garbled = contribute(api, ALICE, reddit_export(), ciphertext=b"\0" * 64)
    assert garbled.status_code == 400 and "does not decrypt" in garbled.json()["detail"]
    bad_hex = contribute(api, ALICE, reddit_export(), fields={"sha256": "0xzz"})
    assert bad_hex.status_code == 400 and "sha256 is not hex" in bad_hex.json()["detail"]
    bad_nonce = contribute(api, ALICE, reddit_export(), fields={"nonce": "made-up"})
    assert bad_nonce.status_code in (400, 403)
    missing = api.post("/api/contributions", data={"contributor": ALICE.address})
    assert missing.status_code == 422 and "ciphertext" in missing.text
    assert api.get("/api/contributions/nope").status_code == 404


def test_mismatched_plaintext_hash_is_refused(api: TestClient) -> None:
    response = contribute(api, ALICE, reddit_export(), fields={"sha256": "0x" + "11" * 32})
    assert response.status_code == 403  # the statement signed another hash


def test_granted_renter_decrypts_the_refined_records_of_each_contribution(
    api: TestClient, dao: Dao, ipfs
) -> None:  # type: ignore[no-untyped-def]
    exports = {ALICE.address: reddit_export(), BOB.address: x_archive()}
    ids = [
        contribute(api, account, exports[account.address]).json()["id"] for account in (ALICE, BOB)
    ]
    receipts = [wait_for_stage(api, i, "minted") for i in ids]
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))

    response = request_keys(api, RENTER)
    assert response.status_code == 200, response.text
    released = {k["cid"]: k for k in response.json()["keys"]}
    assert set(released) == {r["cid"] for r in receipts}
    for receipt in receipts:
        plaintext = open_released(RENTER, released[receipt["cid"]], ipfs.cat(receipt["cid"]))
        assert "0x" + hashlib.sha256(plaintext).hexdigest() == receipt["refined_sha256"]
        records = from_parquet(plaintext)
        assert records.num_rows == receipt["records"] > 0
        assert set(records.column("contribution_id").to_pylist()) == {receipt["id"]}
        assert plaintext != exports[receipt["contributor"]]


def test_contributor_gets_keys_for_own_contributions_only(api: TestClient, ipfs) -> None:  # type: ignore[no-untyped-def]
    export = reddit_export()
    mine = wait_for_stage(api, contribute(api, ALICE, export).json()["id"], "minted")
    wait_for_stage(api, contribute(api, BOB, x_archive()).json()["id"], "minted")
    keys = request_keys(api, ALICE).json()["keys"]
    assert [k["cid"] for k in keys] == [mine["cid"]]
    opened = open_released(ALICE, keys[0], ipfs.cat(mine["cid"]))
    assert from_parquet(opened).num_rows == mine["records"]


def test_withdrawal_destroys_the_key_and_leaves_future_grants(api: TestClient, dao: Dao) -> None:
    receipt = wait_for_stage(api, contribute(api, ALICE, reddit_export()).json()["id"], "minted")
    fingerprint = bytes.fromhex(receipt["attestation"]["fingerprint"][2:])
    deadline = dao.now() + 600
    forged = sign_withdrawal(BOB, fingerprint, deadline, dao.chain_id, dao.registry.address)
    refused = api.post(
        f"/api/contributions/{receipt['id']}/withdraw",
        json={"deadline": deadline, "signature": "0x" + forged.hex()},
    )
    assert refused.status_code == 403

    signed = sign_withdrawal(ALICE, fingerprint, deadline, dao.chain_id, dao.registry.address)
    done = api.post(
        f"/api/contributions/{receipt['id']}/withdraw",
        json={"deadline": deadline, "signature": "0x" + signed.hex()},
    )
    assert done.status_code == 200, done.text
    assert done.json()["withdrawn"] and done.json()["status"] == "withdrawn"
    assert dao.registry.functions.contributionOf(fingerprint).call()[2] == 0  # on-chain too
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    assert request_keys(api, RENTER).json()["keys"] == []
    assert request_keys(api, ALICE).status_code == 403  # not even its contributor gets it back


def test_upload_limits(api: TestClient, service_settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    service_settings.max_upload_bytes = 1000
    response = contribute(api, ALICE, reddit_export())
    assert response.status_code == 413 and "exceeds 1,000 bytes" in response.json()["detail"]
    service_settings.max_upload_bytes = 10**9
    service_settings.uploads_per_wallet_per_hour = 1
    contribute(api, BOB, x_archive())
    limited = contribute(api, BOB, reddit_export())
    assert limited.status_code == 429


def test_page_and_openapi_are_served(api: TestClient) -> None:
    assert api.get("/").status_code == 200
    assert "/api/contributions" in api.get("/openapi.json").json()["paths"]


def test_work_waits_while_ipfs_is_down_and_resumes(api: TestClient, ipfs) -> None:  # type: ignore[no-untyped-def]
    from dao_service.storage.ipfs import IpfsStore
    from tests.utils.processes import free_port

    intake = api.app.state.intake  # type: ignore[attr-defined]
    intake.ipfs = IpfsStore(f"/ip4/127.0.0.1/tcp/{free_port()}/http", timeout=1)  # nothing listens
    receipt = contribute(api, ALICE, reddit_export()).json()
    assert receipt["accepted"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = api.get(f"/api/contributions/{receipt['id']}").json()
        if waiting["last_error"] or waiting["status"] != "validated":
            break
        time.sleep(0.2)
    assert waiting["status"] == "validated"  # held, not lost, while IPFS is unreachable
    assert waiting["last_error"].startswith("waiting to retry")
    intake.ipfs = ipfs  # the node is back
    assert wait_for_stage(api, receipt["id"], "minted")["cid"]
