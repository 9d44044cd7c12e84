"""How the settling validator opens a blob from the custody nodes' shares (no chain or node
needed): any M good shares open it, a wrong or unopenable share from one node is passed
over, and fewer than M good shares open nothing."""

import os

import ecies
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_keys import keys

from dao_service.chain.custody_set import CustodyNode, CustodyNodeSet
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.custody import SealedOpener
from dao_service.core.shares import split_key
from dao_service.earnings import node_keys
from dao_service.earnings.node_keys import SettlementKeys
from dao_service.exceptions import SettlementError

VALIDATOR = dev_account(1)


def sealed_to_validator(value: bytes) -> bytes:
    public_key = keys.PrivateKey(bytes(VALIDATOR.key)).public_key.to_hex()
    return bytes(ecies.encrypt(public_key, value))


def test_any_threshold_of_good_shares_open_the_blob_and_a_bad_share_is_passed_over() -> None:
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    blob = AESGCM(key).encrypt(iv, b"the records", None)
    shares = split_key(key, 2, 3)
    held = SettlementKeys(2, SealedOpener(bytes(VALIDATOR.key)))
    held.sealed["c1"] = {s.index: sealed_to_validator(s.value) for s in shares}
    assert held.open("c1", iv, blob) == b"the records"

    held.sealed["c1"][1] = sealed_to_validator(os.urandom(32))  # node 1 lies
    assert held.open("c1", iv, blob) == b"the records"
    held.sealed["c1"][2] = b"\x04" + os.urandom(100)  # node 2 sends junk
    with pytest.raises(SettlementError, match="No 2 of the custody nodes' shares"):
        held.open("c1", iv, blob)
    del held.sealed["c1"][1], held.sealed["c1"][2]
    with pytest.raises(SettlementError, match="Fewer than 2 custody nodes gave a share"):
        held.open("c1", iv, blob)
    with pytest.raises(SettlementError, match="Fewer than 2"):
        held.open("unknown", iv, blob)
    held.drop()
    assert held.sealed == {}


def node_set(epoch: int, threshold: int) -> CustodyNodeSet:
    nodes = [
        CustodyNode(
            url=f"http://set{epoch}-node{i}",
            public_key="04" + keys.PrivateKey(os.urandom(32)).public_key.to_bytes().hex(),
        )
        for i in (1, 2, 3)
    ]
    return CustodyNodeSet(epoch=epoch, threshold=threshold, nodes=nodes)


def test_a_node_of_another_set_cannot_spoil_a_contributions_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Contribution c1 was split 2-of-3 for set 1; a node of set 2 (M = 3) lists c1 with
    a junk share at index 1. Only set 1's shares are taken for it: the blob opens."""
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    blob = AESGCM(key).encrypt(iv, b"the records", None)
    shares = {s.index: sealed_to_validator(s.value) for s in split_key(key, 2, 3)}
    old, new = node_set(1, 2), node_set(2, 3)

    def pages(url: str, body: object, timeout: float) -> list[dict[str, object]]:
        index = int(url[-1])
        if url.startswith("http://set1"):
            share = shares[index]
        elif index == 1:
            share = sealed_to_validator(os.urandom(32))  # set 2's node 1 lies about c1
        else:
            return []
        return [{"contribution_id": "c1", "share_index": index, "encrypted_share": share.hex()}]

    monkeypatch.setattr(node_keys, "_all_pages", pages)
    held = node_keys.fetch([old, new], {"c1": 1}, VALIDATOR, 31337, "0x" + "00" * 20, 1, 1)
    assert held.open("c1", iv, blob) == b"the records"
