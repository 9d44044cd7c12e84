"""A validator node's API: who it is, its verdict on an upload, its signatures. Every
request carries what it is judged on (the contributor's signed statement, the sealed
upload, the CID's content), and a node signs only its own verdict. Only a validator the
registry lists may ask (its collecting node signs each request, `request_headers`): the
verdicts endpoint takes a sign-in claim on the collector's word, and nobody else's."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from dao_service.api.schemas import ErrorResponse
from dao_service.chain.validator_set import (
    EarningsRootClaim,
    JudgeRequest,
    SignAttestationRequest,
    SignatureResponse,
    ValidatorIdentity,
    Verdict,
    request_signer,
)
from dao_service.exceptions import CallerRefused, IntakeRefused
from dao_service.validator_node import judging, signing
from dao_service.validator_node.node import ValidatorNode


async def get_node(request: Request) -> ValidatorNode:
    node: ValidatorNode = request.app.state.node
    return node


NodeDep = Annotated[ValidatorNode, Depends(get_node)]


def check_caller(node: ValidatorNode, request: Request, content: bytes) -> None:
    """CallerRefused unless a validator the registry lists signed this request."""
    signer = request_signer(request.url.path, content, request.headers, time.time())
    if not node.chain().is_validator(signer):
        raise CallerRefused(f"{signer} is not a validator of this registry.")


router = APIRouter(prefix="/api", tags=["validator"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 403, 409, 413, 503)
}


@router.get("/validator", response_model=ValidatorIdentity, responses=ERRORS)
def identity(node: NodeDep) -> ValidatorIdentity:
    """This node's signing address and the intake key to wrap file keys to for it."""
    return node.identity()


@router.post("/verdicts", response_model=Verdict, responses=ERRORS)
async def verdict(
    node: NodeDep,
    http: Request,
    request: str = Form(..., description="a JudgeRequest, JSON"),
    ciphertext: UploadFile = File(..., description="the sealed upload, as the contributor sent it"),
) -> Verdict:
    """This node's own verdict on an upload, compared with the collecting node's proposal."""
    data = await ciphertext.read(node.settings.max_upload_bytes + 17)
    await run_in_threadpool(check_caller, node, http, request.encode() + data)
    try:
        judged = JudgeRequest.model_validate_json(request)
    except ValidationError as exc:
        raise IntakeRefused(f"The request is not a JudgeRequest: {exc}") from None
    return await run_in_threadpool(judging.judge, node, judged, data)


@router.post("/attestations/signature", response_model=SignatureResponse, responses=ERRORS)
def attestation_signature(
    body: SignAttestationRequest, node: NodeDep, request: Request
) -> SignatureResponse:
    """This node's signature of an attestation, if it agrees with its own verdict (409 with
    its reasons if not)."""
    check_caller(node, request, body.model_dump_json().encode())
    return signing.sign_attestation(node, body)


@router.post("/earnings-roots/signature", response_model=SignatureResponse, responses=ERRORS)
def earnings_root_signature(
    body: EarningsRootClaim, node: NodeDep, request: Request
) -> SignatureResponse:
    """This node's signature of an earnings root, once it checked the table (409 if not)."""
    check_caller(node, request, body.model_dump_json().encode())
    return signing.sign_earnings_root(node, body)
