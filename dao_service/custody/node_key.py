"""The node's key: a secp256k1 private key in an owner-only file. Shares arrive sealed to
its public half (ECIES); at rest each share is encrypted under a storage key derived from
it, so the node's database alone holds nothing usable, and the key file with the database
gives one share, which alone says nothing about a file key."""

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dao_service.core.custody import read_secret
from dao_service.core.files import write_private_file
from dao_service.core.shares import Share, new_node_key, node_public_key, open_share
from dao_service.exceptions import ConfigurationError, CustodyError


def _derived(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class NodeKey:
    def __init__(self, path: Path, generate: bool = False) -> None:
        if not path.exists():
            if not generate:
                raise ConfigurationError(
                    f"No custody node key at {path} (DATADAO_NODE_KEY_FILE). Restore the "
                    "node's key there; a new key is made only for the local stack."
                )
            write_private_file(path, new_node_key().hex().encode())
        try:
            secret = bytes.fromhex(read_secret(path).decode().strip())
            self.public_key = node_public_key(secret)
        except ValueError as exc:
            raise ConfigurationError(
                f"{path} does not hold a secp256k1 private key (64 hex digits)."
            ) from exc
        self._secret = secret
        self._storage = AESGCM(_derived(secret, b"datadao custody share storage"))
        self._mac_key = _derived(secret, b"datadao custody cursor")

    def mac(self, message: str) -> str:
        """A tag over `message` only this node makes (its release cursors)."""
        return hmac.new(self._mac_key, message.encode(), hashlib.sha256).hexdigest()[:32]

    def open_deposit(self, sealed: bytes, contribution_id: str) -> Share:
        return open_share(self._secret, sealed, contribution_id)

    def store(self, share: Share, contribution_id: str) -> bytes:
        """The share as the database keeps it: encrypted, bound to its contribution."""
        nonce = os.urandom(12)
        body = bytes([share.index]) + share.value
        return nonce + self._storage.encrypt(nonce, body, contribution_id.encode())

    def stored(self, stored: bytes, contribution_id: str) -> Share:
        try:
            body = self._storage.decrypt(stored[:12], stored[12:], contribution_id.encode())
        except Exception as exc:  # InvalidTag: another node's row, or altered
            raise CustodyError(f"the stored share of {contribution_id} does not open") from exc
        return Share(body[0], body[1:])
