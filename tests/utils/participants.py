"""A contributor and a renter as the API sees them: the same cryptography as the web page
(AES-256-GCM, RSA-OAEP key wrap, EIP-712 statement) and as `datadao data fetch`."""

import base64
import hashlib
import os
from typing import Any

import ecies
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient


def encrypt_for_service(plaintext: bytes, spki_base64: str) -> tuple[bytes, bytes, bytes, bytes]:
    """(file key, iv, ciphertext, wrapped key) exactly as the browser makes them."""
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    ciphertext = AESGCM(key).encrypt(iv, plaintext, None)
    public = serialization.load_der_public_key(base64.b64decode(spki_base64))
    wrapped = public.encrypt(  # type: ignore[union-attr]
        key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    return key, iv, ciphertext, wrapped


def contribute(client: TestClient, account: LocalAccount, plaintext: bytes, **tamper: Any) -> Any:
    config = client.get("/api/config").json()
    nonce = client.post("/api/contributions/nonce", json={"wallet": account.address}).json()[
        "nonce"
    ]
    digest = hashlib.sha256(plaintext).digest()
    typed = {
        "types": config["statement_types"],
        "primaryType": "ContributionStatement",
        "domain": config["statement_domain"],
        "message": {
            "contributor": account.address,
            "sha256": digest,
            "source": "auto",
            "nonce": nonce,
        },
    }
    signer = tamper.pop("signer", account)
    signature = signer.sign_message(encode_typed_data(full_message=typed)).signature
    _, iv, ciphertext, wrapped = encrypt_for_service(plaintext, config["intake_public_key"])
    fields = {
        "contributor": account.address,
        "sha256": "0x" + digest.hex(),
        "source": "auto",
        "nonce": nonce,
        "signature": "0x" + bytes(signature).hex(),
        "wrapped_key": base64.b64encode(wrapped).decode(),
        "iv": base64.b64encode(iv).decode(),
        **tamper.pop("fields", {}),
    }
    return client.post(
        "/api/contributions",
        data=fields,
        files={"ciphertext": ("export.bin", tamper.pop("ciphertext", ciphertext))},
    )


def request_keys(
    client: TestClient, account: LocalAccount, dataset_id: int = 1, **tamper: Any
) -> Any:
    challenge = client.post(
        "/api/keys/challenge", json={"address": account.address, "dataset_id": dataset_id}
    ).json()
    signer = tamper.pop("signer", account)
    signature = signer.sign_message(encode_defunct(text=challenge["text"])).signature
    body = {
        "nonce": challenge["nonce"],
        "dataset_id": dataset_id,
        "chain_id": tamper.pop("chain_id", challenge["chain_id"]),
        "signature": "0x" + bytes(signature).hex(),
    }
    first = client.post("/api/keys/release", json=body)
    if tamper.pop("replay", False):
        return client.post("/api/keys/release", json=body)
    return first


def open_released(account: LocalAccount, released: dict[str, Any], ciphertext: bytes) -> bytes:
    """What `datadao data fetch` does with one released key and its ciphertext from IPFS."""
    file_key = ecies.decrypt(account.key.hex(), bytes.fromhex(released["encrypted_key"]))
    return AESGCM(file_key).decrypt(base64.b64decode(released["iv"]), ciphertext, None)
