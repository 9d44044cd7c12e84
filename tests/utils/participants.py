"""A contributor and a renter against the in-process API (TestClient), built on the client
library's own envelope, statement and key functions; the keyword arguments tamper with one
part of a request, for the refusal tests."""

import hashlib
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from dao_service.client.contribute import seal_export, sign_typed, statement, upload_fields
from dao_service.client.fetch import open_released, sign_challenge

__all__ = ["contribute", "open_released", "request_keys"]


def contribute(client: TestClient, account: LocalAccount, plaintext: bytes, **tamper: Any) -> Any:
    config = client.get("/api/config").json()
    nonce = client.post("/api/contributions/nonce", json={"wallet": account.address}).json()
    digest = hashlib.sha256(plaintext).digest()
    signer = tamper.pop("signer", account)
    signature = sign_typed(signer, statement(config, account.address, digest, nonce["nonce"]))
    sealed = seal_export(plaintext, config["intake_public_key"])
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
        "nonce": challenge["nonce"],
        "dataset_id": dataset_id,
        "chain_id": tamper.pop("chain_id", challenge["chain_id"]),
        "signature": sign_challenge(tamper.pop("signer", account), challenge["text"]),
    }
    first = client.post("/api/keys/release", json=body)
    if tamper.pop("replay", False):
        return client.post("/api/keys/release", json=body)
    return first
