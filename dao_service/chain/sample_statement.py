"""The statement a renter's wallet signs (EIP-191 personal_sign) to hand the service a
validation sample: the sample's SHA-256, with a nonce the service issued to that wallet
(used once, valid for a limited time), for this deployment only (chain and registry)."""

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature


def sample_statement(renter: str, sha256: bytes, nonce: str, chain_id: int, registry: str) -> str:
    return (
        "Data DAO: store my validation sample\n"
        f"Renter: {renter}\n"
        f"Sample SHA-256: 0x{sha256.hex()}\n"
        f"Nonce: {nonce}\n"
        f"Chain: {chain_id}\n"
        f"Registry: {registry}\n"
    )


def recover_statement_signer(text: str, signature: bytes) -> str:
    """The wallet that signed `text`; a ValueError when `signature` is not a signature."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except BadSignature as exc:
        raise ValueError(f"not a valid signature ({exc})") from exc
