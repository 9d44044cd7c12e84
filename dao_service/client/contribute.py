"""Contributing from Python, exactly as the web form does it: the export is encrypted here
(AES-256-GCM, a fresh key), the key wrapped to the service's public key and to each other
validator node's (RSA-OAEP, SHA-256; `/api/config` lists them: each judges the upload
itself), the wallet signs the EIP-712 statement over the plaintext's SHA-256, and only
ciphertext is uploaded."""

import base64
import csv
import hashlib
import io
import json
import os
import re
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.client.service import Progress, ServiceClient
from dao_service.exceptions import ContributionFailed

FINAL_STATUSES = ("minted", "rejected", "withdrawn")
# An export's data files (Reddit's CSVs, X's data/*.js), the web form's pattern too: of an
# archive of no known platform only these leave the machine; media never does.
DATA_FILE = re.compile(r"^(data/[^/]+\.js|[^/]+\.csv)$")


@dataclass(frozen=True)
class SealedExport:
    """An export as it leaves the contributor's machine: nothing here is plaintext."""

    iv: bytes
    ciphertext: bytes
    wrapped_key: bytes
    # The same key wrapped to each other validator node's key, by its address.
    co_wrapped_keys: dict[str, bytes] = field(default_factory=dict)


def seal_export(
    plaintext: bytes,
    service_public_key_b64: str,
    co_validators: Sequence[dict[str, str]] = (),
) -> SealedExport:
    """`plaintext` encrypted under a fresh key, wrapped to the service's key and to each of
    `co_validators` (`/api/config`'s: address and intake_public_key)."""
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    return SealedExport(
        iv,
        AESGCM(key).encrypt(iv, plaintext, None),
        wrap_key(key, service_public_key_b64),
        {v["address"]: wrap_key(key, v["intake_public_key"]) for v in co_validators},
    )


def wrap_key(key: bytes, public_key_b64: str) -> bytes:
    public = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    if not isinstance(public, rsa.RSAPublicKey):
        raise ContributionFailed("A validator's intake key is not an RSA key.")
    return public.encrypt(
        key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )


@dataclass(frozen=True)
class LeftOut:
    """A file of the export that stays on the contributor's machine, and why."""

    name: str
    why: str


@dataclass(frozen=True)
class ExportData:
    """What is uploaded of an export, and what stays on the machine."""

    plaintext: bytes
    source: str | None  # "reddit", "twitter", "generic"; None: an archive of no known source
    taken: list[str] = field(default_factory=list)  # entries uploaded (some reduced)
    reduced: dict[str, list[str]] = field(default_factory=dict)  # entry -> fields kept
    left: list[LeftOut] = field(default_factory=list)


MEDIA = "media and other non-data files: never uploaded"


def export_data(export: Path | bytes, rules: dict[str, dict[str, Any]]) -> ExportData:
    """The upload built from an export by the service's published rules (`config["sources"]`,
    or `validators.selection.published()` offline): of a Reddit or X archive only the
    public, self-authored files, X's account.js reduced to the account's id, handle and
    creation date; of a single JSON/CSV file only its items' id, text and time fields.
    Same archive, same bytes (names and dates kept). Entries left out are never read."""
    generic_rule = rules.get("generic", {})
    generic = generic_rule.get("kept_fields", [])
    private_files: dict[str, str] = generic_rule.get("private_files", {})
    name = export.name if isinstance(export, Path) else "export"
    opened = io.BytesIO(export) if isinstance(export, bytes) else export
    if not zipfile.is_zipfile(opened):
        if name.lower() in private_files:
            raise ContributionFailed(
                f"{name} is a file of {private_files[name.lower()]}: it never leaves your "
                "machine. Contribute the whole export (the zip) and only its public files go."
            )
        data = export if isinstance(export, bytes) else export.read_bytes()
        reduced = reduce_generic(data, generic, generic_rule.get("refused_fields", []), name)
        return ExportData(reduced, "generic", [name], {name: list(generic)})
    with zipfile.ZipFile(opened) as archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        names = {e.filename for e in entries}
        source, rule = next(
            ((n, r) for n, r in rules.items() if names & set(r.get("markers", []))), (None, None)
        )
        if rule is None:  # no known platform: its data files, never one a platform calls private

            def why_private(entry: zipfile.ZipInfo) -> str | None:
                return private_files.get(entry.filename.rsplit("/", 1)[-1].lower())

            taken = [e for e in entries if DATA_FILE.match(e.filename) and not why_private(e)]
            left = [LeftOut(e.filename, why_private(e) or MEDIA) for e in entries if e not in taken]
            if not left:
                whole = export if isinstance(export, bytes) else export.read_bytes()
                return ExportData(whole, None, [e.filename for e in taken])
            return ExportData(_zip(archive, taken, {}), None, [e.filename for e in taken], {}, left)
        patterns = [re.compile(p) for p in rule["taken"]]
        taken = [e for e in entries if any(p.fullmatch(e.filename) for p in patterns)]
        kept_fields: dict[str, list[str]] = {
            name: fields for name, fields in rule.get("kept_fields", {}).items() if name in names
        }
        private = rule.get("private", {})
        left = [
            LeftOut(e.filename, private.get(e.filename) or
                    (MEDIA if not DATA_FILE.match(e.filename) else "not public content"))
            for e in entries if e not in taken
        ]  # fmt: skip
        plaintext = _zip(archive, taken, kept_fields)
    return ExportData(plaintext, source, [e.filename for e in taken], kept_fields, left)


def _zip(
    archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], kept_fields: dict[str, list[str]]
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as kept:
        for entry in entries:
            copy = zipfile.ZipInfo(entry.filename, date_time=entry.date_time)
            copy.compress_type, copy.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            data = archive.read(entry)
            if entry.filename in kept_fields:
                data = reduce_ytd(entry.filename, data, kept_fields[entry.filename])
            kept.writestr(copy, data)
    return out.getvalue()


YTD = re.compile(rb"^\s*window\.YTD\.[A-Za-z0-9_]+\.part\d+\s*=\s*")


def reduce_ytd(name: str, data: bytes, fields: list[str]) -> bytes:
    """An X data file (`window.YTD.x.part0 = [{"kind": {...}}]`) with only `fields` of each
    item's object."""
    match = YTD.match(data)
    if match is None:
        raise ContributionFailed(f"{name} is not an X data file (window.YTD...).")
    try:
        items = json.loads(data[match.end() :])
    except ValueError as exc:
        raise ContributionFailed(f"{name} is not valid JSON: {exc}") from exc
    reduced = [
        {kind: {k: v for k, v in value.items() if k in fields} if isinstance(value, dict) else value
         for kind, value in item.items()} if isinstance(item, dict) else item
        for item in (items if isinstance(items, list) else [])
    ]  # fmt: skip
    return data[: match.end()] + json.dumps(reduced, ensure_ascii=False).encode()


def reduce_generic(
    data: bytes,
    fields: list[str],
    refused: Sequence[str] = (),
    name: str = "the export",
) -> bytes:
    """A generic export's items with only `fields` (JSON array, NDJSON or CSV; anything
    else as it is: validation says what is wrong with it). ContributionFailed if an item
    has a field of a conversation (`refused`): its texts are other people's too."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data
    kept, conversation = set(fields), {f.lower() for f in refused}

    def refuse_conversation(keys: Any) -> None:
        found = sorted(k for k in keys if str(k).lower() in conversation)
        if found:
            raise ContributionFailed(
                f"{name} has {', '.join(found)}: it looks like a conversation, whose messages "
                "are other people's too, so it is not contributed. Contribute exports of "
                "your own posts."
            )

    def reduce(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        refuse_conversation(item)
        return {k: v for k, v in item.items() if k in kept}

    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            return json.dumps([reduce(i) for i in json.loads(text)], ensure_ascii=False).encode()
        if stripped.startswith("{"):
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            return "\n".join(json.dumps(reduce(i), ensure_ascii=False) for i in lines).encode()
    except ValueError:
        return data
    try:
        reader = csv.DictReader(io.StringIO(text))
        refuse_conversation(reader.fieldnames or [])
        columns = [c for c in reader.fieldnames or [] if c in kept]
        if not columns:
            return data
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(reader)
    except csv.Error:
        return data
    return out.getvalue().encode()


def statement(
    config: dict[str, Any], contributor: str, sha256: bytes, nonce: str
) -> dict[str, Any]:
    """The EIP-712 ContributionStatement the wallet signs, as the service publishes its types."""
    return {
        "types": config["statement_types"],
        "primaryType": "ContributionStatement",
        "domain": config["statement_domain"],
        "message": {
            "contributor": contributor,
            "sha256": sha256,
            "source": "auto",
            "nonce": nonce,
            "schema": config["record_schema"],
        },
    }


def sign_typed(account: Any, typed: dict[str, Any]) -> str:
    from eth_account.messages import encode_typed_data

    return "0x" + bytes(account.sign_message(encode_typed_data(full_message=typed)).signature).hex()


def sign_in_url(service: Any, platform: str, account: Any) -> str:
    """The browser URL that signs `account` in with `platform`: the account signs the
    service's sign-in request first, so the pass the page ends with names it (and only
    because it signed)."""
    request = service.sign_in_request(platform, account.address)
    signature = sign_typed(account, request["typed_data"])
    return str(service.sign_in_url(platform, account.address, request, signature))


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
        "co_wrapped_keys": json.dumps(
            {address: base64.b64encode(k).decode() for address, k in sealed.co_wrapped_keys.items()}
        ),
    }


def contribute(
    service: ServiceClient,
    account: Any,
    export: Path,
    progress: Progress | None = None,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 300.0,
    sign_in_pass: str = "",
    prepared: ExportData | None = None,
) -> dict[str, Any]:
    """Encrypt, sign, upload and follow one export to its final stage; returns the receipt.
    `sign_in_pass` (from signing in with the platform) binds the export's account;
    `prepared`: the upload `export_data` built (and the contributor was shown)."""
    config = service.config()
    plaintext = (prepared or export_data(export, config["sources"])).plaintext
    size = len(plaintext)
    if size > config["max_upload_bytes"]:
        raise ContributionFailed(
            f"{export.name}'s data is {size:,} bytes; the service takes at most "
            f"{config['max_upload_bytes']:,} bytes."
        )
    sha256 = hashlib.sha256(plaintext).digest()
    sealed = seal_export(plaintext, config["intake_public_key"], config.get("co_validators", []))
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
    """Poll a receipt until its final stage (for a minted one with custody nodes, until
    M of them hold its key's shares, so that it can be fetched); `on_status` sees each
    change."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        if on_status and (receipt["status"], receipt.get("last_error")) != seen:
            on_status(receipt)
            seen = (receipt["status"], receipt.get("last_error"))
        custody = receipt.get("key_custody")
        if receipt["status"] in FINAL_STATUSES and (
            receipt["status"] != "minted"
            or not custody
            or custody["holding"] >= custody["threshold"]
        ):
            return receipt
        if time.monotonic() > deadline:
            raise ContributionFailed(
                f"contribution {receipt['id']} is still {receipt['status']} after {timeout:.0f} s"
                + (f" ({receipt['last_error']})" if receipt.get("last_error") else "")
                + "; the service keeps working on it"
            )
        time.sleep(0.25)
        receipt = service.receipt(receipt["id"])
