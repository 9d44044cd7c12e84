"""The key-release challenge: a text the renter's wallet signs (EIP-191 personal_sign).

From the signature the service recovers the wallet's public key, the one it encrypts
the file keys to, so only that wallet can read what it releases.
"""

from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_keys import keys
from eth_keys.datatypes import PublicKey
from eth_keys.exceptions import BadSignature

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


def recover_public_key(text: str, signature: bytes) -> PublicKey | None:
    """The public key that signed `text`, or None if the signature is malformed."""
    if len(signature) != 65:
        return None
    v = signature[64]
    v = v - 27 if v >= 27 else v
    try:
        sig = keys.Signature(signature[:64] + bytes([v]))
        return sig.recover_public_key_from_msg_hash(_hash_eip191_message(encode_defunct(text=text)))
    except (BadSignature, ValueError):
        return None
