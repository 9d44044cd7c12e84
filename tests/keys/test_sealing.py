"""Released file keys are sealed to the renter's wallet key as eciespy opens them; the
curve work is shared by the releases to one wallet for a minute, never across wallets."""

import ecies
import pytest

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.custody import SealingKeys

RENTER, OTHER = dev_account(5), dev_account(6)
HEAD = 65  # eciespy's ephemeral public key, uncompressed


def public(account: object) -> bytes:
    return account._key_obj.public_key.to_bytes()  # type: ignore[attr-defined]


def test_sealed_keys_open_with_the_wallet_key_only() -> None:
    items = [bytes([i]) * 32 for i in range(5)]
    sealed = SealingKeys().seal(public(RENTER), items)
    assert [ecies.decrypt(RENTER.key.hex(), s) for s in sealed] == items
    with pytest.raises(ValueError):
        ecies.decrypt(OTHER.key.hex(), sealed[0])
    assert len({s[HEAD : HEAD + 16] for s in sealed}) == 5  # a nonce each


def test_the_ephemeral_key_is_shared_per_wallet_and_lifetime() -> None:
    sealing = SealingKeys(lifetime=60)
    first = sealing.seal(public(RENTER), [b"a" * 32])[0]
    again = sealing.seal(public(RENTER), [b"b" * 32])[0]
    other = sealing.seal(public(OTHER), [b"c" * 32])[0]
    assert first[:HEAD] == again[:HEAD]  # one curve computation for both releases
    assert other[:HEAD] != first[:HEAD]  # another wallet, another ephemeral key
    assert ecies.decrypt(RENTER.key.hex(), again) == b"b" * 32
    assert ecies.decrypt(OTHER.key.hex(), other) == b"c" * 32

    expired = SealingKeys(lifetime=0)
    heads = {expired.seal(public(RENTER), [b"a" * 32])[0][:HEAD] for _ in range(3)}
    assert len(heads) == 3  # past its lifetime an ephemeral key is not used again


def test_the_cache_is_bounded() -> None:
    sealing = SealingKeys(lifetime=0, limit=2)
    for account in (RENTER, OTHER, dev_account(7)):
        sealing.seal(public(account), [b"a" * 32])
    assert len(sealing._sealers) <= 2
