"""The key-release challenge: a text the renter's wallet signs (EIP-191 personal_sign).

From the signature the service recovers the wallet's public key, the one it encrypts
the file keys to, so only that wallet can read what it releases.
"""

import coincurve
from Crypto.Hash import keccak
from eth_keys.constants import SECPK1_N
from eth_keys.datatypes import PublicKey

SERVICE_IDENTITY = "datadao-key-release"


def challenge_text(
    address: str, dataset_id: int, chain_id: int, access_registry: str, nonce: str, expires_at: int
) -> str:
    """The text a renter signs; it names the deployment (chain and AccessRegistry), so a
    signed request is good for this DAO's service only."""
    return (
        "Data DAO key release\n"
        f"service: {SERVICE_IDENTITY}\n"
        f"address: {address}\n"
        f"dataset: {dataset_id}\n"
        f"chain id: {chain_id}\n"
        f"access registry: {access_registry}\n"
        f"nonce: {nonce}\n"
        f"expires: {expires_at}"
    )


def eip191_hash(text: str) -> bytes:
    """What personal_sign signs for `text` (eth_account's `encode_defunct` and
    `_hash_eip191_message`, in one keccak: half the time, on every key release)."""
    body = text.encode()
    prefix = b"\x19Ethereum Signed Message:\n" + str(len(body)).encode()
    return keccak.new(digest_bits=256, data=prefix + body).digest()


def recover_public_key(text: str, signature: bytes) -> PublicKey | None:
    """The public key that signed `text`, or None if the signature is malformed. The
    checks of eth_keys' `Signature` (v of 0 or 1, after 27 or 28; r and s below the
    curve order), then libsecp256k1's recovery through coincurve as eth_keys' coincurve
    backend does, without its wrappers (~40 us of each release)."""
    if len(signature) != 65:
        return None
    v = signature[64]
    v = v - 27 if v >= 27 else v
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    if v not in (0, 1) or r >= SECPK1_N or s >= SECPK1_N:
        return None
    try:
        recovered = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), eip191_hash(text), hasher=None
        )
    except Exception:  # as eth_keys' backend: whatever libsecp256k1 refuses is malformed
        return None
    return PublicKey(recovered.format(compressed=False)[1:])
