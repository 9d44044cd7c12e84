"""Key release to renters (and to contributors for their own contributions)."""

import base64

from eth_utils import to_checksum_address
from fastapi import APIRouter

from dao_service.api.deps import KeyReleaseDep
from dao_service.api.schemas import (
    ChallengeRequest,
    ChallengeResponse,
    ErrorResponse,
    ReleasedKeyModel,
    ReleaseRequest,
    ReleaseResponse,
)
from dao_service.chain.challenges import SERVICE_IDENTITY

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post(
    "/challenge", response_model=ChallengeResponse, responses={503: {"model": ErrorResponse}}
)
def challenge(body: ChallengeRequest, service: KeyReleaseDep) -> ChallengeResponse:
    challenge_id, text, expires = service.challenge(
        to_checksum_address(body.address), body.dataset_id
    )
    return ChallengeResponse(
        nonce=challenge_id,
        text=text,
        expires_at=expires,
        chain_id=service.chain_id,
        service=SERVICE_IDENTITY,
    )


@router.post("/release", response_model=ReleaseResponse, responses={403: {"model": ErrorResponse}})
def release(body: ReleaseRequest, service: KeyReleaseDep) -> ReleaseResponse:
    address, keys = service.release(
        body.nonce, body.dataset_id, body.chain_id, bytes.fromhex(body.signature.removeprefix("0x"))
    )
    return ReleaseResponse(
        address=address,
        dataset_id=body.dataset_id,
        keys=[
            ReleasedKeyModel(
                contribution_id=k.contribution_id,
                cid=k.cid,
                sha256=k.sha256,
                iv=base64.b64encode(k.iv).decode(),
                encrypted_key=k.encrypted_key.hex(),
            )
            for k in keys
        ],
    )
