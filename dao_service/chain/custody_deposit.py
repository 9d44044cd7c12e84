"""The text a validator signs (EIP-191 personal_sign) when it deposits a sealed share of a
contribution's file key with a custody node: the node recovers the signer and accepts
the deposit only if the chain lists that address as a validator. It names the node, so a
deposit signed for one node is not good at another."""

import hashlib

from eth_account.messages import encode_defunct


def deposit_text(
    node_public_key: str,
    sequence: int,
    contribution_id: str,
    dataset_id: int,
    contributor: str,
    fingerprint: str,
    cid: str,
    sha256: str,
    iv: bytes,
    sealed_share: bytes,
) -> str:
    return (
        "Data DAO custody deposit\n"
        f"node: {node_public_key}\n"
        f"sequence: {sequence}\n"
        f"contribution: {contribution_id}\n"
        f"dataset: {dataset_id}\n"
        f"contributor: {contributor}\n"
        f"fingerprint: {fingerprint}\n"
        f"cid: {cid}\n"
        f"sha256: {sha256}\n"
        f"iv: {iv.hex()}\n"
        f"sealed share: {hashlib.sha256(sealed_share).hexdigest()}"
    )


def sign_text(account: object, text: str) -> str:
    """`account`'s personal_sign of `text`, 0x-hex."""
    signed = account.sign_message(encode_defunct(text=text))  # type: ignore[attr-defined]
    return "0x" + bytes(signed.signature).hex()
