"""How the settling validator opens a blob from the custody nodes' shares (no chain or node
needed): any M good shares open it, a wrong or unopenable share from one node is passed
over, and fewer than M good shares open nothing."""

import os

import ecies
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_keys import keys

from dao_service.chain.dev_accounts import dev_account
from dao_service.client.custody import SealedOpener
from dao_service.core.shares import split_key
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
