"""`data fetch` against a hostile service: it cannot make the renter write outside --out,
nor delete files there that an earlier fetch did not write."""

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dao_service.chain.challenges import challenge_text
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.fetch import FetchFailed, fetch_dataset

RENTER = dev_account(5)


class HostileService:
    def __init__(self, contribution_id: str) -> None:
        self.contribution_id = contribution_id

    def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
        text = challenge_text(address, dataset_id, 31337, "n0nce", 2_000_000_000)
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
    client = SimpleNamespace(service=HostileService("../../escaped"), chain_id=31337)
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

    client = SimpleNamespace(service=NothingReleased("x"), chain_id=31337)
    result = fetch_dataset(client, RENTER, 1, out, ipfs=None)  # type: ignore[arg-type]
    assert result.removed == [] and precious.read_text() == "keep me"


def test_only_a_key_release_challenge_for_this_renter_is_signed(tmp_path: Path) -> None:
    class SignInElsewhere(HostileService):
        def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
            return {"nonce": "n", "text": "example.org wants you to sign in", "chain_id": 1}

    class OtherAddress(HostileService):
        def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
            text = challenge_text(dev_account(6).address, dataset_id, 31337, "n", 2_000_000_000)
            return {"nonce": "n", "text": text, "chain_id": 31337}

    for service in (SignInElsewhere("x"), OtherAddress("x")):
        client = SimpleNamespace(service=service, chain_id=31337)
        with pytest.raises(FetchFailed, match="nothing was signed"):
            fetch_dataset(client, RENTER, 1, tmp_path, ipfs=None)  # type: ignore[arg-type]
