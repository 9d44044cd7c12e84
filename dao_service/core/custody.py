"""Key custody. Two keys, each in an owner-only file in the data directory (or, for the
custody key, a setting):

- the intake key (RSA-3072): browsers wrap each file's AES key to its public half
  (RSA-OAEP, SHA-256), so only the service can open an upload;
- the custody key (AES-256): file keys are kept only wrapped under it, never in clear.

Plaintext of contributed data exists only in memory, inside `open_upload`.
"""

import base64
import hashlib
import hmac
import os
import stat
import threading
import time
from pathlib import Path

import ecies
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.core.files import write_private_file
from dao_service.exceptions import ConfigurationError, UploadUnreadable

OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)


def read_secret(path: Path) -> bytes:
    """The bytes of an owner-only key file; ConfigurationError if others may read it."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} is readable by other users (mode {oct(mode & 0o777)}); run `chmod 600 {path}`."
        )
    return path.read_bytes()


class IntakeKey:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
            write_private_file(
                path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
        loaded = serialization.load_pem_private_key(read_secret(path), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ConfigurationError(f"{path} does not hold an RSA private key.")
        self._key = loaded
        self._sample_key = hmac.digest(read_secret(path), b"spot-check sample", "sha256")
        self._pseudonym_key = hmac.digest(read_secret(path), b"record pseudonyms", "sha256")

    @property
    def sample_key(self) -> bytes:
        """A secret derived from this key (every process holding it agrees on it) that
        seeds the platform spot-check's sample, so contributors cannot predict it."""
        return self._sample_key

    @property
    def pseudonym_key(self) -> bytes:
        """A secret derived from this key that keys the refined records' pseudonyms and
        record ids: stable for the dataset, unguessable without it."""
        return self._pseudonym_key

    def public_spki_base64(self) -> str:
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            key = self._key.decrypt(wrapped, OAEP)
        except ValueError as exc:
            raise UploadUnreadable(
                "The wrapped file key does not open with the service's key."
            ) from exc
        if len(key) != 32:
            raise UploadUnreadable("The file key must be 32 bytes (AES-256).")
        return key


class CustodyKey:
    def __init__(self, setting: str, path: Path) -> None:
        if setting:
            try:
                key = base64.b64decode(setting, validate=True)
            except ValueError as exc:
                raise ConfigurationError("DATADAO_CUSTODY_KEY is not valid base64.") from exc
        else:
            if not path.exists():
                write_private_file(path, AESGCM.generate_key(bit_length=256))
            key = read_secret(path)
        if len(key) != 32:
            raise ConfigurationError("The custody key must be 32 bytes.")
        self._aead = AESGCM(key)
        # (labelled "challenge" from when challenges carried it too; renaming it would
        # void every cursor and tag in flight)
        self._mac_key = hashlib.sha256(b"datadao-challenge-mac\0" + key).digest()

    def mac(self, message: str) -> str:
        """A tag over `message` that only this service can make (binds what it issues)."""
        return hmac.new(self._mac_key, message.encode(), hashlib.sha256).hexdigest()[:32]

    def wrap(self, file_key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, file_key, b"datadao-file-key")

    def unwrap(self, wrapped: bytes) -> bytes:
        return self._aead.decrypt(wrapped[:12], wrapped[12:], b"datadao-file-key")


def open_upload(file_key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """The plaintext of a browser-encrypted upload (AES-256-GCM, tag appended), in memory."""
    if len(iv) != 12:
        raise UploadUnreadable("The IV must be 12 bytes.")
    try:
        return AESGCM(file_key).decrypt(iv, ciphertext, None)
    except InvalidTag as exc:
        raise UploadUnreadable(
            "The upload does not decrypt with its key: altered or mismatched."
        ) from exc


class SealingKeys:
    """ECIES sealing (secp256k1) to wallets' public keys, as eciespy/eth-ecies clients open
    it (eciespy's default: ephemeral key, HKDF, AES-256-GCM with a 16-byte nonce, laid out
    ephemeral public key + nonce + tag + ciphertext).

    The curve work (an ephemeral key, its ECDH with the wallet's key, HKDF: ~0.3 ms, a
    fifth of a key release) is done once per wallet key and `lifetime`, not per release:
    every file key sealed to that wallet meanwhile shares the ephemeral key, each with its
    own random nonce. What that gives up: whoever learns that one ephemeral private key
    reads the keys released to that wallet in its minute; it lives only in this process's
    memory, which holds the custody key (all file keys) anyway."""

    def __init__(self, lifetime: float = 60.0, limit: int = 10_000) -> None:
        self.lifetime, self.limit = lifetime, limit
        self._sealers: dict[bytes, tuple[float, bytes, AESGCM]] = {}
        self._lock = threading.Lock()  # releases seal on the event loop and in threads

    def seal(self, public_key: bytes, items: list[bytes]) -> list[bytes]:
        """Each item sealed to `public_key` (64 or 65 bytes, uncompressed)."""
        now = time.monotonic()
        sealer = self._sealers.get(public_key)
        if sealer is None or sealer[0] <= now:
            sealer = (now + self.lifetime, *_ecies_sealer(public_key))
            with self._lock:
                if len(self._sealers) >= self.limit:
                    live = {k: v for k, v in self._sealers.items() if v[0] > now}
                    self._sealers = live if len(live) < self.limit // 2 else {}
                self._sealers[public_key] = sealer
        _, head, cipher = sealer
        sealed = []
        for item in items:
            nonce = os.urandom(16)
            body = cipher.encrypt(nonce, item, None)  # ciphertext + 16-byte tag
            sealed.append(head + nonce + body[-16:] + body[:-16])
        return sealed


def _ecies_sealer(public_key: bytes) -> tuple[bytes, AESGCM]:
    """A fresh ephemeral public key (the sealed items' head) and the AES-GCM key it shares
    with `public_key`, derived as eciespy derives it."""
    from ecies.keys import PrivateKey, PublicKey

    config = ecies.ECIES_CONFIG
    assert config.symmetric_algorithm == "aes-256-gcm" and config.symmetric_nonce_length == 16
    receiver = PublicKey(config.elliptic_curve, public_key)
    ephemeral = PrivateKey(config.elliptic_curve)
    head = ephemeral.public_key.to_bytes(config.is_ephemeral_key_compressed)
    return head, AESGCM(ephemeral.encapsulate(receiver, config.is_hkdf_key_compressed))
