"""What an upload request carries, and the one error intake answers a bad request with."""

from dataclasses import dataclass, field

from validators import SignedInAccount


@dataclass(frozen=True)
class Upload:
    contributor: str
    sha256: bytes
    source: str
    nonce: str
    signature: bytes
    wrapped_key: bytes
    iv: bytes
    ciphertext: bytes
    client: str
    signed_in: SignedInAccount | None = None  # from a sign-in with the platform
    # The file key wrapped to each other validator node's intake key, by its address
    # (lower case): each opens and judges the upload itself (chain.validator_set).
    co_wrapped_keys: dict[str, bytes] = field(default_factory=dict)
