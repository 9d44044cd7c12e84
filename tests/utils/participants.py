"""A contributor and a renter against the in-process API (TestClient), built on the client
library's own envelope, statement and key functions; the keyword arguments tamper with one
part of a request, for the refusal tests."""

import hashlib
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from dao_service.client.contribute import seal_export, sign_typed, statement, upload_fields
from dao_service.client.fetch import open_released, sign_challenge
from dao_service.core.config import get_settings

__all__ = ["contribute", "open_released", "request_keys"]


def publish(plaintext: bytes) -> None:
    """The export's items appear on the platform stand-in the service checks against, as
    if its account had posted them (an export that is not a zip is left out)."""
    requests.post(f"{get_settings().reddit_api_url}/standin/exports", data=plaintext, timeout=10)


def contribute(client: TestClient, account: LocalAccount, plaintext: bytes, **tamper: Any) -> Any:
    """Upload `plaintext` as the web form would; its items are on the platform unless
    `published=False` (a fabricated export)."""
    if tamper.pop("published", True):
        publish(plaintext)
    config = client.get("/api/config").json()
    nonce = client.post("/api/contributions/nonce", json={"wallet": account.address}).json()
    digest = hashlib.sha256(plaintext).digest()
    signer = tamper.pop("signer", account)
    signature = sign_typed(signer, statement(config, account.address, digest, nonce["nonce"]))
    sealed = seal_export(plaintext, config["intake_public_key"], config["co_validators"])
    fields = {
        **upload_fields(account.address, digest, nonce["nonce"], signature, sealed),
        **tamper.pop("fields", {}),
    }
    ciphertext = tamper.pop("ciphertext", sealed.ciphertext)
    return client.post(
        "/api/contributions", data=fields, files={"ciphertext": ("export.bin", ciphertext)}
    )


def request_keys(
    client: TestClient, account: LocalAccount, dataset_id: int = 1, **tamper: Any
) -> Any:
    challenge = client.post(
        "/api/keys/challenge", json={"address": account.address, "dataset_id": dataset_id}
    ).json()
    body = {
        "address": account.address,
        "nonce": challenge["nonce"],
        "expires_at": challenge["expires_at"],
        "dataset_id": dataset_id,
        "chain_id": tamper.pop("chain_id", challenge["chain_id"]),
        "signature": sign_challenge(tamper.pop("signer", account), challenge["text"]),
    }
    first = client.post("/api/keys/release", json=body)
    if tamper.pop("replay", False):
        return client.post("/api/keys/release", json=body)
    return first
