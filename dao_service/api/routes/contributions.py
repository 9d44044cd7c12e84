"""Contribution intake: configuration for the page, nonces, uploads, receipts, withdrawal."""

import base64
import binascii
import json
from datetime import UTC
from typing import Any

import requests
from eth_utils import is_address, to_checksum_address
from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from dao_service.api.deps import ChainDep, IntakeDep, SettingsDep
from dao_service.api.schemas import (
    CheckPolicy,
    CodeResponse,
    ContributionReceipt,
    ErrorResponse,
    KeyDestructionModel,
    NonceRequest,
    NonceResponse,
    RecordPreview,
    ServiceConfig,
    Stage,
    ValidatorKey,
    WithdrawRequest,
)
from dao_service.chain.attestations import (
    STATEMENT_FIELDS,
    statement_typed_data,
)
from dao_service.chain.provider import ChainProvider
from dao_service.core.config import Settings
from dao_service.exceptions import IntakeRefused
from dao_service.intake import IntakeService, Upload
from dao_service.models import Contribution
from dao_service.models import Stage as StageName
from validators import verification_code
from validators.refine import SCHEMA_ID
from validators.selection import published

PREVIEW_RECORDS = 10

router = APIRouter(prefix="/api", tags=["contributions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 403, 404, 409, 413, 429, 503)
}
ORDER = [StageName.RECEIVED, StageName.VALIDATED, StageName.STORED, StageName.MINTED]


def _address(value: str, what: str) -> str:
    if not is_address(value):
        raise IntakeRefused(f"{what} {value!r} is not an Ethereum address.")
    return to_checksum_address(value)


def _hex(value: str, what: str, length: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise IntakeRefused(f"{what} is not hex.") from None
    if length is not None and len(raw) != length:
        raise IntakeRefused(f"{what} must be {length} bytes, got {len(raw)}.")
    return raw


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise IntakeRefused(f"{what} is not base64.") from None


def _wrapped_keys(value: str) -> dict[str, bytes]:
    try:
        keys = json.loads(value)
    except ValueError:
        raise IntakeRefused("co_wrapped_keys is not JSON.") from None
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise IntakeRefused("co_wrapped_keys must map validator addresses to base64 keys.")
    return {
        _address(address, "co_wrapped_keys' validator").lower(): _b64(wrapped, "a co_wrapped_key")
        for address, wrapped in keys.items()
    }


def receipt(
    intake: IntakeService, row: Contribution, chain: ChainProvider | None = None
) -> ContributionReceipt:
    """The receipt of `row`; with `chain`, a minted one says how many tokens it minted (as
    the registry recorded them; not said while the chain does not answer)."""
    tokens = None
    if chain is not None and row.stage == StageName.MINTED and row.fingerprint:
        try:
            tokens = str(chain().weight_and_tokens(bytes.fromhex(row.fingerprint[2:]))[1])
        except (requests.ConnectionError, requests.Timeout):
            tokens = None
    rejected = row.stage == StageName.REJECTED
    # Minting (sent, waiting for its confirmations) has stored done, minted not yet.
    at = StageName.STORED if row.stage == StageName.MINTING else row.stage
    reached = 1 if rejected else ORDER.index(at)
    stages = [Stage(name=s.value, done=i <= reached) for i, s in enumerate(ORDER)]
    if rejected:  # validation is where it stopped: it never passed that stage
        stages = [stages[0], Stage(name="rejected", done=True)]
    return ContributionReceipt(
        id=row.public_id,
        contributor=row.contributor,
        status=row.stage.value if not row.withdrawn else "withdrawn",
        stages=stages,
        accepted=not rejected,
        rejection_reasons=row.report.get("rejection_reasons", []),
        report=row.report,
        score=row.score,
        cid=row.cid,
        tx_hash=row.tx_hash,
        withdrawn=row.withdrawn,
        disowned=row.disowned_at is not None,
        last_error=row.last_error,
        records=row.record_count,
        record_schema=row.schema_id,
        refined_sha256=row.refined_sha256,
        tokens_wei=tokens,
        verdicts=row.report.get("verdicts") or [],
        **intake.receipt_extras(row),
    )


@router.get("/config", response_model=ServiceConfig, responses=ERRORS)
def config(settings: SettingsDep, intake: IntakeDep, chain: ChainDep) -> ServiceConfig:
    dao = chain()
    typed = statement_typed_data(
        to_checksum_address("0x" + "00" * 20),
        b"\0" * 32,
        "",
        "",
        dao.chain_id,
        dao.registry_address,
        schema=SCHEMA_ID,
    )
    return ServiceConfig(
        chain_id=dao.chain_id,
        registry=dao.registry_address,
        dataset_id=settings.dataset_id,
        intake_public_key=intake.intake_key.public_spki_base64(),
        validator=dao.validator_address,
        co_validators=[
            ValidatorKey(address=i.address, intake_public_key=i.intake_public_key)
            for i in intake.co_validators.identities()
        ],
        # As deployed (the page must not wait on the chain for it; the DAO may change it).
        required_signatures=int(dao.manifest.parameters.get("required_signatures", 1)),
        max_upload_bytes=settings.max_upload_bytes,
        statement_domain=typed["domain"],
        statement_types={
            "EIP712Domain": typed["types"]["EIP712Domain"],
            "ContributionStatement": STATEMENT_FIELDS,
        },
        checks=check_policies(settings),
        record_schema=SCHEMA_ID,
        preview_max_bytes=settings.preview_max_bytes,
        sources=published(),
        sign_in_platforms=[
            name
            for name, client_id in (
                ("reddit", settings.reddit_client_id),
                ("x", settings.x_client_id),
            )
            if client_id
        ],
    )


def check_policies(settings: Settings) -> list[CheckPolicy]:
    """What the form and the receipt say about the checks: each runs on every upload."""
    return [
        CheckPolicy(name="export checksums", kind="authenticity", required=True,
                    what="the export's own checksums or manifest, dates and account identity"),
        CheckPolicy(name="platform spot-check", kind="authenticity",
                    required=settings.require_platform_check,
                    what=f"{settings.platform_sample_size} random items looked up on the "
                    f"platform; at least {settings.platform_min_found:.0%} must still be there, "
                    "none may differ"),
        CheckPolicy(name="platform sign-in", kind="ownership", required=False,
                    what="sign in with Reddit or X as the export's account (strongest proof)"),
        CheckPolicy(name="verification code", kind="ownership",
                    required=settings.require_verification_code,
                    what="your wallet's code, posted from the account and found on the platform"),
        CheckPolicy(name="account binding", kind="ownership", required=True,
                    what="the account is bound to one wallet only, "
                    + ("by the platform sign-in or the verification code (one of them is "
                       "required)" if settings.require_ownership_proof else
                       "without proof here (local stack): the owner who signs in takes it "
                       "back")),
        CheckPolicy(name="wallet signature", kind="ownership", required=True,
                    what="your wallet signs the export's SHA-256"),
    ]  # fmt: skip


@router.get("/code", response_model=CodeResponse, responses=ERRORS)
def code(wallet: str, chain: ChainDep) -> CodeResponse:
    dao = chain()
    address = _address(wallet, "wallet")
    return CodeResponse(
        wallet=address,
        code=verification_code(address, dao.chain_id, dao.registry_address),
        how="Post this code from your account (a Reddit comment or post, or a tweet), "
        "then request your export.",
    )


@router.post("/contributions/nonce", response_model=NonceResponse, responses=ERRORS)
def nonce(body: NonceRequest, intake: IntakeDep, request: Request) -> NonceResponse:
    client = request.client.host if request.client else "unknown"
    issued = intake.issue_nonce(to_checksum_address(body.wallet), client)
    return NonceResponse(nonce=issued.nonce, expires_at=int(issued.expires_at.timestamp()))


@router.post("/contributions", response_model=ContributionReceipt, responses=ERRORS)
async def contribute(
    request: Request,
    intake: IntakeDep,
    settings: SettingsDep,
    chain: ChainDep,
    contributor: str = Form(...),
    sha256: str = Form(..., description="0x-hex SHA-256 of the plaintext export"),
    source: str = Form("auto"),
    nonce: str = Form(...),
    signature: str = Form(..., description="EIP-712 signature of the ContributionStatement"),
    wrapped_key: str = Form(..., description="base64 RSA-OAEP-wrapped AES-256 key"),
    iv: str = Form(..., description="base64 12-byte AES-GCM IV"),
    ciphertext: UploadFile = File(..., description="AES-256-GCM ciphertext with the tag appended"),
    sign_in: str = Form("", description="a pass from /api/signin: the platform's account"),
    co_wrapped_keys: str = Form(
        "{}",
        description="JSON object: each co-validator's address (from /api/config) to the "
        "file key wrapped to its key, base64",
    ),
) -> ContributionReceipt:
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes + 1024 * 1024:
        raise IntakeRefused(f"The upload exceeds {settings.max_upload_bytes:,} bytes.", 413)
    data = await ciphertext.read(settings.max_upload_bytes + 17)
    wallet = _address(contributor, "contributor")
    upload = Upload(
        contributor=wallet,
        sha256=_hex(sha256, "sha256", 32),
        source=source[:32],
        nonce=nonce[:64],
        signature=_hex(signature, "signature", 65),
        wrapped_key=_b64(wrapped_key, "wrapped_key"),
        iv=_b64(iv, "iv"),
        ciphertext=data,
        client=request.client.host if request.client else "unknown",
        signed_in=request.app.state.sign_in.account_for(sign_in, wallet) if sign_in else None,
        co_wrapped_keys=_wrapped_keys(co_wrapped_keys),
    )
    row = await run_in_threadpool(intake.submit, upload)
    answer = await run_in_threadpool(receipt, intake, row, chain)
    if row.statement_nonce != upload.nonce:  # the same export again: its first receipt
        answer.already_contributed_at = int(row.created_at.replace(tzinfo=UTC).timestamp())
    return answer


@router.post("/contributions/preview", response_model=RecordPreview, responses=ERRORS)
async def preview(
    request: Request,
    intake: IntakeDep,
    contributor: str = Form(...),
    wrapped_key: str = Form(..., description="base64 RSA-OAEP-wrapped AES-256 key"),
    iv: str = Form(..., description="base64 12-byte AES-GCM IV"),
    ciphertext: UploadFile = File(..., description="AES-256-GCM ciphertext with the tag appended"),
) -> RecordPreview:
    """The first records renters would receive of this export, refined and scrubbed as
    they would be stored: sealed as for an upload, opened in memory, nothing kept."""
    settings = intake.settings  # the body's size is limited as it arrives (api/body_limits)
    upload = Upload(
        contributor=_address(contributor, "contributor"),
        sha256=b"",
        source="auto",
        nonce="",
        signature=b"",
        wrapped_key=_b64(wrapped_key, "wrapped_key"),
        iv=_b64(iv, "iv"),
        ciphertext=await ciphertext.read(settings.preview_max_bytes + 17),
        client=request.client.host if request.client else "unknown",
    )
    rows = await run_in_threadpool(intake.preview, upload, PREVIEW_RECORDS)
    return RecordPreview(record_schema=SCHEMA_ID, records=rows)


@router.get("/contributions/{public_id}", response_model=ContributionReceipt, responses=ERRORS)
def get_contribution(public_id: str, intake: IntakeDep, chain: ChainDep) -> ContributionReceipt:
    return receipt(intake, intake.find(public_id), chain)


@router.post(
    "/contributions/{public_id}/withdraw", response_model=ContributionReceipt, responses=ERRORS
)
def withdraw(
    public_id: str, body: WithdrawRequest, intake: IntakeDep, chain: ChainDep
) -> ContributionReceipt:
    """Withdraw on the contributor's signed request: on-chain first, then the key is destroyed."""
    signature = _hex(body.signature, "signature", 65)
    row, shredded = intake.withdraw(chain(), public_id, body.deadline, signature)
    answer = receipt(intake, row, chain)
    if shredded is not None:
        answer.key_destruction = KeyDestructionModel(
            nodes=shredded.nodes,
            threshold=shredded.threshold,
            confirmed=shredded.confirmed,
            unconfirmed=shredded.unconfirmed,
            needed=shredded.needed,
            key_gone=shredded.key_gone,
            summary=(
                f"{len(shredded.confirmed)} of {shredded.nodes} custody nodes confirmed "
                f"destroying their share; the key is gone once {shredded.needed} have"
                + (" (it is)" if shredded.key_gone else "")
            ),
        )
    return answer
