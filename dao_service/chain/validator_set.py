"""The validator set, M of N: the collecting node's side of the other validator nodes.

Each validator is an independent node (`dao_service.covalidator`: its own signing key, its
own RSA intake key, its own database and dedup index, its own chain RPC). The contributor
wraps the file key to every validator's published intake key, so each can open the upload.

Two rounds, because the upload exists only while its request is being answered (it is
never stored) and the CID only once the refined records are stored:

1. `judge`, while the upload is in memory: each co-validator is sent the sealed upload,
   its own wrapped file key, the contributor's signed statement and the collecting node's
   proposal (fingerprint, score, refined records' SHA-256). It opens and validates the
   export itself, refines it with the dataset's pseudonym key and seals it with the
   proposal's blob key (both sent sealed to its intake key, used in memory, then
   forgotten), and agrees only if it finds the same fingerprint, the same records and a
   score at least the proposed one. Fewer than the registry's required signatures
   agreeing (this node included) rejects the contribution, every verdict on its receipt;
   unless the nodes that did not answer could still make them: then the upload is to be
   sent again (`intake.records.with_verdicts`).
2. `sign_attestation`, at mint time: the attestation (with its CID) goes to those that
   agreed; each signs only for the upload it agreed on, at no higher a score, and only if
   the CID's content is the blob it sealed itself. The registry takes the signatures
   ordered by signer address.

What a co-validator takes on trust from the collecting node: the demand factors of
recent rentals (bounded to 0.5-2, see `validators.scoring`), the platform sign-in the
upload claims (the pass is the collecting node's), and that the statement's nonce was
issued to the contributor once (a node refuses a nonce it judged for another wallet)."""

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field, ValidationError

from dao_service.chain.attestations import Attestation, recover_typed_signer
from dao_service.chain.earnings_roots import EarningsRoot
from dao_service.core.custody import OAEP
from dao_service.exceptions import CallerRefused, SignaturesMissing

log = logging.getLogger("dao_service.intake")

# --- what passes between validator nodes -------------------------------------------------


class ValidatorIdentity(BaseModel):
    """What a validator node publishes: its signing address, the intake key the file
    key is wrapped to for it, and the deployment it validates for."""

    address: str
    intake_public_key: str = Field(description="SPKI, base64 (RSA-OAEP, SHA-256)")
    chain_id: int
    registry: str
    dataset_id: int


class SignedInClaim(BaseModel):
    """The platform account the upload's sign-in named (checked by the collecting node)."""

    source: str
    account_id: str
    account_name: str


class DemandClaim(BaseModel):
    factor: float
    reason: str


class Proposal(BaseModel):
    """What the collecting node found: a co-validator agrees only on the same."""

    contribution_id: str = Field(description="the public id the refined records carry")
    fingerprint: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    score: int = Field(gt=0)
    refined_sha256: str = Field(pattern=r"^0x[0-9a-f]{64}$")


class JudgeRequest(BaseModel):
    """An upload as its contributor sealed and signed it, and the proposal to judge. The
    ciphertext travels beside it (multipart), as it does to the collecting node."""

    contributor: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    sha256: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    source: str
    nonce: str
    signature: str = Field(description="the contributor's EIP-712 statement, 0x-hex")
    wrapped_key: str = Field(description="the file key wrapped to this validator, base64")
    iv: str = Field(description="base64 12-byte AES-GCM IV of the upload")
    signed_in: SignedInClaim | None = None
    demand: dict[str, DemandClaim] = Field(default_factory=dict)
    sealed_pseudonym_key: str = Field(
        description="the dataset's pseudonym key (32 bytes), RSA-OAEP to this validator, "
        "base64: it refines the export as the collecting node did"
    )
    sealed_blob_key: str = Field(
        description="the stored blob's key (32 bytes), RSA-OAEP to this validator, base64: "
        "it seals its own refinement as the collecting node did, to know the blob's hash"
    )
    blob_iv: str = Field(description="the stored blob's 12-byte IV, base64")
    proposal: Proposal


class Verdict(BaseModel):
    """One validator's verdict on one upload, as the receipt lists them side by side."""

    validator: str = Field(description="its signing address (empty if it did not answer)")
    url: str = ""
    # away: it did not answer (down, restarting, too slow), or the upload carries no file
    # key for it (it was away when the client asked for the keys): send the upload again;
    # unable: it refused to judge this upload (its statement, its ciphertext).
    status: Literal["agrees", "disagrees", "away", "unable"]
    accepted: bool | None = Field(default=None, description="its own judgement of the export")
    fingerprint: str | None = None
    score: int | None = None
    refined_sha256: str | None = None
    reasons: list[str] = Field(default_factory=list)


class AttestationClaim(BaseModel):
    """The attestation a validator is asked to sign, as the registry takes it."""

    contributor: str
    account: str = Field(pattern=r"^0x[0-9a-f]{64}$", description="the platform account's hash")
    dataset_id: int
    fingerprint: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    cid: str
    score: int
    deadline: int
    nonce: int

    @classmethod
    def of(cls, attestation: Attestation) -> "AttestationClaim":
        return cls(
            **attestation.model_dump(exclude={"fingerprint", "account"}),
            fingerprint="0x" + attestation.fingerprint.hex(),
            account="0x" + attestation.account.hex(),
        )

    def attestation(self) -> Attestation:
        return Attestation(
            **self.model_dump(exclude={"fingerprint", "account"}),
            fingerprint=bytes.fromhex(self.fingerprint[2:]),
            account=bytes.fromhex(self.account[2:]),
        )


class SignAttestationRequest(BaseModel):
    statement_nonce: str = Field(description="the upload's, as judged")
    attestation: AttestationClaim


class EarningsRootClaim(BaseModel):
    dataset_id: int
    epoch: int
    root: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    total: str = Field(pattern=r"^[0-9]+$", description="wei, decimal")
    cid: str

    @classmethod
    def of(cls, root: EarningsRoot) -> "EarningsRootClaim":
        return cls(
            dataset_id=root.dataset_id,
            epoch=root.epoch,
            root="0x" + root.root.hex(),
            total=str(root.total),
            cid=root.cid,
        )

    def earnings_root(self) -> EarningsRoot:
        return EarningsRoot(
            dataset_id=self.dataset_id,
            epoch=self.epoch,
            root=bytes.fromhex(self.root[2:]),
            total=int(self.total),
            cid=self.cid,
        )


class SignatureResponse(BaseModel):
    validator: str
    signature: str = Field(description="0x-hex, 65 bytes")


# --- the collecting node's client ------------------------------------------------------


def seal_to(public_spki_b64: str, secret: bytes) -> str:
    """`secret` RSA-OAEP (SHA-256) to a validator's published intake key, base64."""
    public = serialization.load_der_public_key(base64.b64decode(public_spki_b64))
    assert isinstance(public, rsa.RSAPublicKey)
    return base64.b64encode(public.encrypt(secret, OAEP)).decode()


SIGNATURE_HEADER, TIME_HEADER = "X-Validator-Signature", "X-Validator-Time"
REQUEST_LIFETIME = 300  # seconds either way: the nodes' clocks differ a little


def _request_text(path: str, content: bytes, timestamp: int) -> str:
    digest = hashlib.sha256(content).hexdigest()
    return f"Data DAO validator request\npath: {path}\ncontent: {digest}\ntime: {timestamp}"


def request_headers(signer: LocalAccount, path: str, content: bytes) -> dict[str, str]:
    """Headers that prove a request to a validator node comes from a validator (EIP-191
    over the path, the content's SHA-256 and the time): the node judges and signs only for
    the validators' collecting nodes, never for anyone who can reach it."""
    timestamp = int(time.time())
    message = encode_defunct(text=_request_text(path, content, timestamp))
    signature = signer.sign_message(message).signature
    return {SIGNATURE_HEADER: "0x" + signature.hex(), TIME_HEADER: str(timestamp)}


def request_signer(path: str, content: bytes, headers: Any, now: float) -> str:
    """The address that signed this request (CallerRefused if unsigned, stale or bad)."""
    signature, stamp = headers.get(SIGNATURE_HEADER), headers.get(TIME_HEADER)
    if not signature or not stamp or not stamp.isdigit():
        raise CallerRefused(
            f"A validator node answers only validators' signed requests ({SIGNATURE_HEADER} "
            f"and {TIME_HEADER} missing)."
        )
    if abs(now - int(stamp)) > REQUEST_LIFETIME:
        raise CallerRefused(f"The request's time {stamp} is not within {REQUEST_LIFETIME} s.")
    try:
        message = encode_defunct(text=_request_text(path, content, int(stamp)))
        return str(Account.recover_message(message, signature=signature))
    except (ValueError, TypeError) as exc:
        raise CallerRefused(f"The request's signature does not read: {exc}") from None


def signer_order(signatures: list[tuple[str, bytes]]) -> list[bytes]:
    """The signatures as the registry takes them: signers in increasing address order."""
    return [signature for _, signature in sorted(signatures, key=lambda s: int(s[0], 16))]


class CoValidators:
    """The other validator nodes, by URL (`DATADAO_CO_VALIDATORS`). Their identities are
    asked for once and kept; one that did not answer is asked again next time."""

    def __init__(self, urls: list[str], timeout: float, signer: Callable[[], LocalAccount]) -> None:
        self.urls, self.timeout, self._signer = urls, timeout, signer
        self._identities: dict[str, ValidatorIdentity] = {}
        self._http = requests.Session()

    def __bool__(self) -> bool:
        return bool(self.urls)

    def identity(self, url: str) -> ValidatorIdentity | None:
        known = self._identities.get(url)
        if known is None:
            try:
                answer = self._http.get(f"{url}/api/validator", timeout=min(self.timeout, 10))
                answer.raise_for_status()
                known = ValidatorIdentity.model_validate(answer.json())
            except (requests.RequestException, ValueError, ValidationError) as exc:
                log.warning("validator node %s does not answer: %s", url, exc)
                return None
            self._identities[url] = known
        return known

    def identities(self) -> list[ValidatorIdentity]:
        """Those that answer now (the form wraps the file key to each of them)."""
        return [i for i in (self.identity(url) for url in self.urls) if i is not None]

    def judge(
        self,
        request: Callable[[ValidatorIdentity], JudgeRequest | str],
        ciphertext: bytes,
    ) -> list[Verdict]:
        """Every co-validator's verdict, asked in parallel. `request` builds the request
        for one validator, or says why it cannot be asked (no file key wrapped to it: the
        client did not see it, so it counts as away)."""

        def ask(url: str) -> Verdict:
            identity = self.identity(url)
            if identity is None:
                return Verdict(validator="", url=url, status="away", reasons=["did not answer"])
            body = request(identity)
            if isinstance(body, str):
                return Verdict(validator=identity.address, url=url, status="away", reasons=[body])
            try:
                judged = body.model_dump_json()
                answer = self._http.post(
                    f"{url}/api/verdicts",
                    data={"request": judged},
                    files={"ciphertext": ("upload.bin", ciphertext)},
                    headers=request_headers(
                        self._signer(), "/api/verdicts", judged.encode() + ciphertext
                    ),
                    timeout=self.timeout,
                )
                if answer.status_code != 200:
                    return Verdict(
                        validator=identity.address,
                        url=url,
                        status="away" if answer.status_code >= 500 else "unable",
                        reasons=[_detail(answer)],
                    )
                verdict = Verdict.model_validate(answer.json())
            except (requests.RequestException, ValueError, ValidationError) as exc:
                return Verdict(
                    validator=identity.address,
                    url=url,
                    status="away",
                    reasons=[f"did not answer: {type(exc).__name__}"],
                )
            return verdict.model_copy(update={"validator": identity.address, "url": url})

        with ThreadPoolExecutor(max_workers=len(self.urls)) as pool:
            return list(pool.map(ask, self.urls))

    def signatures(
        self, urls: list[str], path: str, body: BaseModel, typed: dict[str, Any]
    ) -> tuple[list[tuple[str, bytes]], list[str]]:
        """Signatures of `typed` (EIP-712) from the validators at `urls` (in parallel):
        (address, signature) of those that signed it with their published key, and why
        each other did not (a signature by another key would make the relay revert)."""

        def ask(url: str) -> tuple[str, bytes] | str:
            identity = self.identity(url)
            if identity is None:
                return f"{url}: did not answer"
            content = body.model_dump_json().encode()
            try:
                answer = self._http.post(
                    f"{url}{path}",
                    data=content,
                    headers={
                        "content-type": "application/json",
                        **request_headers(self._signer(), path, content),
                    },
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                return f"{identity.address}: did not answer ({type(exc).__name__})"
            if answer.status_code != 200:
                return f"{identity.address}: {_detail(answer)}"
            try:
                signed = SignatureResponse.model_validate(answer.json())
                signature = bytes.fromhex(signed.signature.removeprefix("0x"))
                signer = recover_typed_signer(typed, signature)
            except (ValueError, ValidationError):
                return f"{identity.address}: answered no signature"
            if signer.lower() != identity.address.lower():
                return f"{identity.address}: signed with another key ({signer})"
            return identity.address, signature

        if not urls:
            return [], []
        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            answers = list(pool.map(ask, urls))
        return (
            [a for a in answers if isinstance(a, tuple)],
            [a for a in answers if isinstance(a, str)],
        )


def collect(
    own: tuple[str, bytes],
    others: tuple[list[tuple[str, bytes]], list[str]],
    required: int,
    what: str,
) -> list[bytes]:
    """This node's signature and the others', ordered for the registry; SignaturesMissing
    (naming each refusal) when fewer than `required` signed."""
    signed, refusals = others
    # One signature per signer, this node's own first: a node answering with another
    # node's key (this one's, say) counts once.
    by_signer: dict[str, tuple[str, bytes]] = {}
    for address, signature in [own, *signed]:
        by_signer.setdefault(address.lower(), (address, signature))
    signed = list(by_signer.values())
    if len(signed) < required:
        raise SignaturesMissing(
            f"{what}: {len(signed)} of the {required} validator signatures needed"
            + (f" ({'; '.join(refusals)})" if refusals else "")
        )
    return signer_order(signed)


def _detail(answer: requests.Response) -> str:
    try:
        body: Any = answer.json()
    except ValueError:
        return f"answered {answer.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else f"answered {answer.status_code}"
