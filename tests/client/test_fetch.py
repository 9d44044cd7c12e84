"""`data fetch` against a hostile service: it cannot make the renter write outside --out,
nor delete files there that an earlier fetch did not write."""

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dao_service.chain.challenges import challenge_text
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.fetch import fetch_dataset
from dao_service.exceptions import FetchFailed

RENTER = dev_account(5)
ACCESS = "0x" + "ac" * 20  # the deployment's AccessRegistry


def without_nodes() -> list[Any]:
    """No custody node set on chain: these fakes are the service's release."""
    return []


TERMS = {"access_expires_at": "2030-01-01T00:00:00+00:00", "revoked": False, "rentals": []}


@pytest.fixture(autouse=True)
def rental_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    """The data card's terms come from the chain, which these fakes have none of."""
    from dao_service.client import fetch

    monkeypatch.setattr(fetch, "_rental_terms", lambda *_: TERMS)


def records(contribution: str, count: int, source: str = "reddit") -> bytes:
    """A contribution's refined records as the service stores them (Parquet)."""
    from datetime import date

    import pyarrow as pa

    from validators.refine import SCHEMA, to_parquet

    rows = [
        {"record_id": f"{contribution}-{i}", "contributor": "user_a", "source": source,
         "kind": "comment" if i % 2 else "post", "community": "python",
         "day": date(2024, 1, 1 + i % 28),
         "language": "en", "text": f"text {i} of {contribution}", "quality": 1.0,
         "near_duplicate_cluster": i, "contribution_id": contribution}
        for i in range(count)
    ]  # fmt: skip
    return to_parquet(pa.Table.from_pylist(rows, schema=SCHEMA))


class HostileService:
    def __init__(self, contribution_id: str) -> None:
        self.contribution_id = contribution_id

    def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
        text = challenge_text(address, dataset_id, 31337, ACCESS, "n0nce", 2_000_000_000)
        return {"nonce": "n", "text": text, "chain_id": 31337}

    def release_keys(self, *_: Any) -> dict[str, Any]:
        key = {
            "contribution_id": self.contribution_id,
            "cid": "bafk",
            "sha256": "0x00",
            "iv": "AAAAAAAAAAAAAAAA",
            "encrypted_key": "00",
        }
        return {"keys": [key]}


def test_a_contribution_id_that_is_a_path_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    client = SimpleNamespace(
        custody_node_sets=without_nodes,
        service=HostileService("../../escaped"),
        chain_id=31337,
        access_registry_address=ACCESS,
    )
    with pytest.raises(FetchFailed, match="not a contribution id"):
        fetch_dataset(client, RENTER, 1, out, ipfs=None)  # type: ignore[arg-type]
    assert not (tmp_path / "escaped.zip").exists() and not (tmp_path / "escaped.dat").exists()


def test_a_tampered_manifest_cannot_delete_files_outside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    entry = {
        "contribution_id": "gone",
        "cid": "bafk",
        "sha256": "0x00",
        "size": 1,
        "file": "../precious.txt",
    }
    (out / "manifest.json").write_text(json.dumps({"files": [entry]}))

    class NothingReleased(HostileService):
        def release_keys(self, *_: Any) -> dict[str, Any]:
            return {"keys": []}

    client = SimpleNamespace(
        custody_node_sets=without_nodes,
        service=NothingReleased("x"),
        chain_id=31337,
        access_registry_address=ACCESS,
    )
    result = fetch_dataset(client, RENTER, 1, out, ipfs=None)  # type: ignore[arg-type]
    assert result.removed == [] and precious.read_text() == "keep me"


def test_only_a_key_release_challenge_for_this_renter_is_signed(tmp_path: Path) -> None:
    class SignInElsewhere(HostileService):
        def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
            return {"nonce": "n", "text": "example.org wants you to sign in", "chain_id": 1}

    class OtherAddress(HostileService):
        def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
            text = challenge_text(
                dev_account(6).address, dataset_id, 31337, ACCESS, "n", 2_000_000_000
            )
            return {"nonce": "n", "text": text, "chain_id": 31337}

    class OtherDeployment(HostileService):
        def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
            elsewhere = "0x" + "bb" * 20  # another DAO's AccessRegistry on the same chain
            text = challenge_text(address, dataset_id, 31337, elsewhere, "n", 2_000_000_000)
            return {"nonce": "n", "text": text, "chain_id": 31337}

    for service in (SignInElsewhere("x"), OtherAddress("x"), OtherDeployment("x")):
        client = SimpleNamespace(
            custody_node_sets=without_nodes,
            service=service,
            chain_id=31337,
            access_registry_address=ACCESS,
        )
        with pytest.raises(FetchFailed, match="nothing was signed"):
            fetch_dataset(client, RENTER, 1, tmp_path, ipfs=None)  # type: ignore[arg-type]


def test_a_stopped_fetch_resumes_at_the_page_it_stopped_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dao_service.client import fetch
    from dao_service.core.custody import SealingKeys

    plaintexts = [records(f"c{i}", 10 + i) for i in range(5)]
    keys, blobs = [], {}
    for i, plaintext in enumerate(plaintexts):
        file_key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
        blobs[f"bafk{i}"] = AESGCM(file_key).encrypt(iv, plaintext, None)
        [sealed] = SealingKeys().seal(RENTER._key_obj.public_key.to_bytes(), [file_key])
        keys.append({
            "contribution_id": f"c{i}", "cid": f"bafk{i}", "iv": base64.b64encode(iv).decode(),
            "sha256": "0x" + hashlib.sha256(plaintext).hexdigest(), "encrypted_key": sealed.hex(),
        })  # fmt: skip

    class PagedService(HostileService):
        challenges = 0

        def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
            PagedService.challenges += 1
            return super().key_challenge(address, dataset_id)

        def release_keys(self, *args: Any) -> dict[str, Any]:
            return self.next_keys("0", args[-1])

        def next_keys(self, cursor: str, limit: int) -> dict[str, Any]:
            start = int(cursor)
            more = start + limit < len(keys)
            return {
                "keys": keys[start : start + limit],
                "next_cursor": str(start + limit) if more else None,
            }

    class Ipfs:
        down = False

        def cat(self, cid: str) -> bytes:
            if self.down and cid == "bafk3":
                raise ConnectionError("IPFS went away")
            return blobs[cid]

        def cid_of(self, data: bytes) -> str:
            return next(cid for cid, blob in blobs.items() if blob == data)

    monkeypatch.setattr(fetch, "recorded_cids", lambda *_: set(blobs))
    client = SimpleNamespace(
        custody_node_sets=without_nodes,
        service=PagedService("x"),
        chain_id=31337,
        access_registry_address=ACCESS,
    )
    out, ipfs = tmp_path / "out", Ipfs()
    ipfs.down = True
    with pytest.raises(ConnectionError):
        fetch_dataset(client, RENTER, 1, out, ipfs, page_size=2)  # type: ignore[arg-type]
    assert json.loads((out / fetch.FETCH_STATE).read_text())["cursor"] == "2"  # page 2 was next
    ipfs.down = False
    result = fetch_dataset(client, RENTER, 1, out, ipfs, page_size=2)  # type: ignore[arg-type]
    assert PagedService.challenges == 1  # resumed with the cursor: no second signature
    assert result.downloaded == 3 and result.skipped == 2  # pages 2 and 3; page 1 kept
    assert sorted(f.contribution_id for f in result.files) == [f"c{i}" for i in range(5)]
    assert [
        (out / f.file).read_bytes() for f in sorted(result.files, key=lambda f: f.contribution_id)
    ] == plaintexts
    assert not (out / fetch.FETCH_STATE).exists()


class OneShotService(HostileService):
    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys

    def release_keys(self, *_: Any) -> dict[str, Any]:
        return {"keys": self.keys}


def released(blobs: dict[str, bytes]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Keys as the service releases them to RENTER, and the ciphertexts by CID."""
    import hashlib
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dao_service.core.custody import SealingKeys

    keys, stored = [], {}
    for contribution, plaintext in blobs.items():
        file_key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
        stored[f"bafk-{contribution}"] = AESGCM(file_key).encrypt(iv, plaintext, None)
        [sealed] = SealingKeys().seal(RENTER._key_obj.public_key.to_bytes(), [file_key])
        keys.append({
            "contribution_id": contribution, "cid": f"bafk-{contribution}",
            "iv": base64.b64encode(iv).decode(), "encrypted_key": sealed.hex(),
            "sha256": "0x" + hashlib.sha256(plaintext).hexdigest(),
        })  # fmt: skip
    return keys, stored


class Blobs:
    def __init__(self, stored: dict[str, bytes]) -> None:
        self.stored = stored

    def cat(self, cid: str) -> bytes:
        return self.stored[cid]

    def cid_of(self, data: bytes) -> str:
        return next(cid for cid, blob in self.stored.items() if blob == data)


def test_the_dataset_loads_as_it_is_and_the_data_card_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb
    import pyarrow.dataset as ds

    from dao_service.client import fetch

    keys, stored = released({"a": records("a", 30), "b": records("b", 12, source="twitter")})
    monkeypatch.setattr(fetch, "recorded_cids", lambda *_: set(stored))
    client = SimpleNamespace(
        custody_node_sets=without_nodes,
        service=OneShotService(keys),
        chain_id=31337,
        access_registry_address=ACCESS,
    )
    out = tmp_path / "out"
    result = fetch_dataset(client, RENTER, 1, out, Blobs(stored))  # type: ignore[arg-type]
    assert result.records == 42
    assert ds.dataset(out / "data").to_table().num_rows == 42
    counted = duckdb.sql(
        f"select source, count(*) from '{out}/data/*.parquet' group by source order by source"
    ).fetchall()
    assert counted == [("reddit", 30), ("twitter", 12)]
    card = json.loads((out / "datacard.json").read_text())
    assert card["records"] == 42 and card["by_source"] == {"reddit": 30, "twitter": 12}
    assert card["by_kind"] == {"post": 21, "comment": 21}
    assert card["date_range"] == {"first_day": "2024-01-01", "last_day": "2024-01-28"}
    assert card["rental"] == TERMS and card["schema"]["id"].startswith("datadao-records/1 sha256:")
    assert [c["records"] for c in card["contributions"]] == [30, 12]
    assert {c["sha256"] for c in card["contributions"]} == {k["sha256"] for k in keys}
    assert "42 records of schema `datadao-records/1" in (out / "datacard.md").read_text()

    jsonl = tmp_path / "jsonl"
    again = fetch_dataset(client, RENTER, 1, jsonl, Blobs(stored), fmt="jsonl")  # type: ignore[arg-type]
    lines = (jsonl / "data" / "a.jsonl").read_text().splitlines()
    assert len(lines) == 30 and json.loads(lines[0])["day"] == "2024-01-01"
    assert again.records == 42
    assert json.loads((jsonl / "datacard.json").read_text())["by_source"] == card["by_source"]

    # b is withdrawn: the next fetch releases only a; its part is removed, the card recounted.
    client.service = OneShotService(keys[:1])
    later = fetch_dataset(client, RENTER, 1, out, Blobs(stored))  # type: ignore[arg-type]
    assert later.removed == ["b"] and not (out / "data" / "b.parquet").exists()
    assert json.loads((out / "datacard.json").read_text())["records"] == 30


def test_a_blob_that_is_not_refined_records_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dao_service.client import fetch
    from dao_service.stack.sample_exports import reddit_export

    keys, stored = released({"raw": reddit_export()})  # an upload as it came
    monkeypatch.setattr(fetch, "recorded_cids", lambda *_: set(stored))
    client = SimpleNamespace(
        custody_node_sets=without_nodes,
        service=OneShotService(keys),
        chain_id=31337,
        access_registry_address=ACCESS,
    )
    with pytest.raises(FetchFailed, match="is not a Parquet file of refined records"):
        fetch_dataset(client, RENTER, 1, tmp_path / "out", Blobs(stored))  # type: ignore[arg-type]
    assert not list((tmp_path / "out" / "data").iterdir())
