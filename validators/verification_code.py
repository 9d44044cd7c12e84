"""The verification code a contributor posts from their account before exporting.

It is derived from the wallet address and the DAO's deployment (chain id + registry
address), so finding it in an item the account authored before the export time proves
"the holder of this account bound it to this wallet, for this DAO".
"""

import base64
import re

from eth_utils import is_address, keccak, to_canonical_address

from validators.exceptions import ExportRejected

PREFIX = "DATADAO"
CODE_PATTERN = re.compile(r"\bDATADAO-([A-Z2-7]{5})-([A-Z2-7]{5})\b", re.IGNORECASE)


def verification_code(wallet: str, chain_id: int, registry: str) -> str:
    """E.g. 'DATADAO-K3QZD-7WJ2A': 50 bits of keccak(chain id, registry, wallet), base32."""
    for value, what in ((wallet, "wallet"), (registry, "registry")):
        if not is_address(value):
            raise ExportRejected(f"The {what} address {value!r} is not an Ethereum address.")
    digest = keccak(
        b"datadao-verification-v1"
        + chain_id.to_bytes(32, "big")
        + to_canonical_address(registry)
        + to_canonical_address(wallet)
    )
    letters = base64.b32encode(digest).decode()[:10]
    return f"{PREFIX}-{letters[:5]}-{letters[5:]}"


def codes_in(text: str) -> set[str]:
    return {f"{PREFIX}-{a.upper()}-{b.upper()}" for a, b in CODE_PATTERN.findall(text)}
