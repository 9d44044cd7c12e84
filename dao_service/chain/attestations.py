"""EIP-712 attestations the validators sign for `ContributionRegistry.contribute`.

The typed data here must match `ATTESTATION_TYPEHASH` and the EIP712 domain of the
registry; `tests/contracts` checks it against the contract's own `attestationDigest`.
"""

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from pydantic import BaseModel, Field

REGISTRY_DOMAIN_NAME = "DataDAO ContributionRegistry"
REGISTRY_DOMAIN_VERSION = "1"

ATTESTATION_FIELDS = [
    {"name": "contributor", "type": "address"},
    {"name": "account", "type": "bytes32"},
    {"name": "datasetId", "type": "uint32"},
    {"name": "fingerprint", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "score", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
    {"name": "nonce", "type": "uint256"},
]
REFINEMENT_FIELDS = [
    {"name": "fingerprint", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "sequence", "type": "uint256"},
]
WITHDRAWAL_FIELDS = [
    {"name": "fingerprint", "type": "bytes32"},
    {"name": "deadline", "type": "uint256"},
]


class Attestation(BaseModel):
    """One contribution as validators attest it; the tuple goes on-chain as it is.

    `account` is the platform account the export is bound to (the dedup index's hash of
    platform and account id): the registry's per-account mint budget is keyed by it, so
    that many wallets of one account share one budget. Zero for an export bound to no
    account: all of those share one budget too."""

    contributor: str
    account: bytes = Field(default=bytes(32), min_length=32, max_length=32)
    dataset_id: int = Field(ge=0, lt=2**32)
    fingerprint: bytes = Field(min_length=32, max_length=32)
    cid: str
    score: int = Field(gt=0, lt=2**64)
    deadline: int = Field(ge=0, lt=2**64)
    nonce: int = Field(ge=0, lt=2**256)

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.contributor,
            self.account,
            self.dataset_id,
            self.fingerprint,
            self.cid,
            self.score,
            self.deadline,
            self.nonce,
        )

    def message(self) -> dict[str, Any]:
        return {
            "contributor": self.contributor,
            "account": self.account,
            "datasetId": self.dataset_id,
            "fingerprint": self.fingerprint,
            "cid": self.cid,
            "score": self.score,
            "deadline": self.deadline,
            "nonce": self.nonce,
        }


def typed_data(
    primary: str,
    fields: list[dict[str, str]],
    message: dict[str, Any],
    chain_id: int,
    contract: str,
    domain_name: str = REGISTRY_DOMAIN_NAME,
) -> dict[str, Any]:
    """EIP-712 typed data for one of our contracts' domains (name, version 1, chain id,
    the verifying contract), as eth_account and wallets take it."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: fields,
        },
        "primaryType": primary,
        "domain": {
            "name": domain_name,
            "version": REGISTRY_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": contract,
        },
        "message": message,
    }


def sign_typed_data(signer: LocalAccount, typed: dict[str, Any]) -> bytes:
    return bytes(signer.sign_message(encode_typed_data(full_message=typed)).signature)


def attestation_typed_data(
    attestation: Attestation, chain_id: int, registry: str
) -> dict[str, Any]:
    return typed_data("Attestation", ATTESTATION_FIELDS, attestation.message(), chain_id, registry)


def sign_attestation(
    validator: LocalAccount, attestation: Attestation, chain_id: int, registry: str
) -> bytes:
    return sign_typed_data(validator, attestation_typed_data(attestation, chain_id, registry))


def sign_refinement(
    validator: LocalAccount,
    fingerprint: bytes,
    cid: str,
    sequence: int,
    chain_id: int,
    registry: str,
) -> bytes:
    """A validator's signature that a contribution's stored blob is now its refined records
    (its `sequence`-th refinement)."""
    message = {"fingerprint": fingerprint, "cid": cid, "sequence": sequence}
    return sign_typed_data(
        validator, typed_data("Refinement", REFINEMENT_FIELDS, message, chain_id, registry)
    )


def sign_withdrawal(
    contributor: LocalAccount, fingerprint: bytes, deadline: int, chain_id: int, registry: str
) -> bytes:
    return sign_typed_data(
        contributor, withdrawal_typed_data(fingerprint, deadline, chain_id, registry)
    )


# The contributor's statement, signed in the browser before upload: it binds the export
# (SHA-256 of the plaintext) to the wallet, for this DAO, once (the service's nonce), and
# names the record schema (id and definition hash) the export will be refined into.
STATEMENT_DOMAIN_NAME = "DataDAO Intake"
STATEMENT_FIELDS = [
    {"name": "contributor", "type": "address"},
    {"name": "sha256", "type": "bytes32"},
    {"name": "source", "type": "string"},
    {"name": "nonce", "type": "string"},
    {"name": "schema", "type": "string"},
]


def statement_typed_data(
    contributor: str,
    sha256: bytes,
    source: str,
    nonce: str,
    chain_id: int,
    registry: str,
    *,
    schema: str,
) -> dict[str, Any]:
    return typed_data(
        "ContributionStatement",
        STATEMENT_FIELDS,
        {
            "contributor": contributor,
            "sha256": sha256,
            "source": source,
            "nonce": nonce,
            "schema": schema,
        },
        chain_id,
        registry,
        STATEMENT_DOMAIN_NAME,
    )


# The wallet's request to sign in with a platform: the sign-in pass the service issues
# after the platform's OAuth names this wallet only because the wallet signed this (the
# service's nonce binds it to one sign-in, its expiry keeps it short-lived).
SIGN_IN_FIELDS = [
    {"name": "wallet", "type": "address"},
    {"name": "platform", "type": "string"},
    {"name": "service", "type": "string"},
    {"name": "nonce", "type": "string"},
    {"name": "expires", "type": "uint256"},
]


def sign_in_typed_data(
    wallet: str,
    platform: str,
    service: str,
    nonce: str,
    expires: int,
    chain_id: int,
    registry: str,
) -> dict[str, Any]:
    return typed_data(
        "PlatformSignIn",
        SIGN_IN_FIELDS,
        {
            "wallet": wallet,
            "platform": platform,
            "service": service,
            "nonce": nonce,
            "expires": expires,
        },
        chain_id,
        registry,
        STATEMENT_DOMAIN_NAME,
    )


def withdrawal_typed_data(
    fingerprint: bytes, deadline: int, chain_id: int, registry: str
) -> dict[str, Any]:
    return typed_data(
        "Withdrawal",
        WITHDRAWAL_FIELDS,
        {"fingerprint": fingerprint, "deadline": deadline},
        chain_id,
        registry,
    )


def recover_typed_signer(typed: dict[str, Any], signature: bytes) -> str:
    """The signer of `typed`; a ValueError when `signature` is no signature at all."""
    try:
        return str(
            Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
        )
    except BadSignature as exc:  # eth_keys' own, not a ValueError
        raise ValueError(f"not a valid signature ({exc})") from exc
