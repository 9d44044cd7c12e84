"""Contributing from Python, exactly as the web form does it: the export is encrypted here
(AES-256-GCM, a fresh key), the key wrapped to the service's public key (RSA-OAEP,
SHA-256), the wallet signs the EIP-712 statement over the plaintext's SHA-256, and only
ciphertext is uploaded."""

import base64
import hashlib
import io
import os
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.client.service import Progress, ServiceClient
from dao_service.exceptions import DataDaoError

FINAL_STATUSES = ("minted", "rejected", "withdrawn")
# An export's data files (Reddit's CSVs, X's data/*.js), the web form's pattern too: only
# these leave the machine; an X archive's gigabytes of media stay.
DATA_FILE = re.compile(r"^(data/[^/]+\.js|[^/]+\.csv)$")


class ContributionFailed(DataDaoError, RuntimeError):
    """The export could not be contributed (too large, unreadable, stuck)."""


@dataclass(frozen=True)
class SealedExport:
    """An export as it leaves the contributor's machine: nothing here is plaintext."""

    iv: bytes
    ciphertext: bytes
    wrapped_key: bytes


def seal_export(plaintext: bytes, service_public_key_b64: str) -> SealedExport:
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    public = serialization.load_der_public_key(base64.b64decode(service_public_key_b64))
    if not isinstance(public, rsa.RSAPublicKey):
        raise ContributionFailed("The service's intake key is not an RSA key.")
    wrapped = public.encrypt(
        key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    return SealedExport(iv, AESGCM(key).encrypt(iv, plaintext, None), wrapped)


@dataclass(frozen=True)
class ExportData:
    """What is uploaded of an export: the whole file, or a zip of its data files only."""

    plaintext: bytes
    kept_files: int | None = None  # None: the whole file
    of_files: int | None = None


def export_data(export: Path) -> ExportData:
    """The export as uploaded: an archive with files other than data files becomes a zip
    of its data files (same names and dates, so the same archive gives the same bytes);
    anything else is sent whole. Media entries are never read."""
    if not zipfile.is_zipfile(export):
        return ExportData(export.read_bytes())
    with zipfile.ZipFile(export) as archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        data = [e for e in entries if DATA_FILE.match(e.filename)]
        if not data or len(data) == len(entries):
            return ExportData(export.read_bytes())
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as kept:
            for entry in data:
                copy = zipfile.ZipInfo(entry.filename, date_time=entry.date_time)
                copy.compress_type, copy.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                kept.writestr(copy, archive.read(entry))
    return ExportData(out.getvalue(), len(data), len(entries))


def statement(
    config: dict[str, Any], contributor: str, sha256: bytes, nonce: str
) -> dict[str, Any]:
    """The EIP-712 ContributionStatement the wallet signs, as the service publishes its types."""
    return {
        "types": config["statement_types"],
        "primaryType": "ContributionStatement",
        "domain": config["statement_domain"],
        "message": {"contributor": contributor, "sha256": sha256, "source": "auto", "nonce": nonce},
    }


def sign_typed(account: Any, typed: dict[str, Any]) -> str:
    from eth_account.messages import encode_typed_data

    return "0x" + bytes(account.sign_message(encode_typed_data(full_message=typed)).signature).hex()


def upload_fields(
    contributor: str, sha256: bytes, nonce: str, signature: str, sealed: SealedExport
) -> dict[str, str]:
    return {
        "contributor": contributor,
        "sha256": "0x" + sha256.hex(),
        "source": "auto",
        "nonce": nonce,
        "signature": signature,
        "wrapped_key": base64.b64encode(sealed.wrapped_key).decode(),
        "iv": base64.b64encode(sealed.iv).decode(),
    }


def contribute(
    service: ServiceClient,
    account: Any,
    export: Path,
    progress: Progress | None = None,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 300.0,
    sign_in_pass: str = "",
) -> dict[str, Any]:
    """Encrypt, sign, upload and follow one export to its final stage; returns the receipt.
    `sign_in_pass` (from signing in with the platform) binds the export's account."""
    config = service.config()
    plaintext = export_data(export).plaintext
    size = len(plaintext)
    if size > config["max_upload_bytes"]:
        raise ContributionFailed(
            f"{export.name}'s data is {size:,} bytes; the service takes at most "
            f"{config['max_upload_bytes']:,} bytes."
        )
    sha256 = hashlib.sha256(plaintext).digest()
    sealed = seal_export(plaintext, config["intake_public_key"])
    del plaintext
    nonce = service.nonce(account.address)
    signature = sign_typed(account, statement(config, account.address, sha256, nonce))
    fields = upload_fields(account.address, sha256, nonce, signature, sealed)
    if sign_in_pass:
        fields["sign_in"] = sign_in_pass
    receipt = service.upload(
        fields,
        sealed.ciphertext,
        progress,
    )
    return follow(service, receipt, on_status, timeout)


def follow(
    service: ServiceClient,
    receipt: dict[str, Any],
    on_status: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Poll a receipt until its final stage; `on_status` sees each change."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        if on_status and (receipt["status"], receipt.get("last_error")) != seen:
            on_status(receipt)
            seen = (receipt["status"], receipt.get("last_error"))
        if receipt["status"] in FINAL_STATUSES:
            return receipt
        if time.monotonic() > deadline:
            raise ContributionFailed(
                f"contribution {receipt['id']} is still {receipt['status']} after {timeout:.0f} s"
                + (f" ({receipt['last_error']})" if receipt.get("last_error") else "")
                + "; the service keeps working on it"
            )
        time.sleep(0.25)
        receipt = service.receipt(receipt["id"])
