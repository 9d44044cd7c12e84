"""Key release to renters (and to contributors for their own contributions).

The routes are coroutines: a release is a few hundred microseconds of work, less than
handing it to a thread costs (bench/RESULTS.md), and it waits for its commit (the release
log) without holding a thread."""

import base64
from typing import Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Request

from dao_service.api.deps import ChainDep, KeyReleaseDep
from dao_service.api.schemas import (
    ChallengeRequest,
    ChallengeResponse,
    ErrorResponse,
    NextPageRequest,
    ReleasedKeyModel,
    ReleaseRequest,
    ReleaseResponse,
)
from dao_service.chain.challenges import SERVICE_IDENTITY
from dao_service.chain.provider import ChainProvider
from dao_service.exceptions import KeyRefused
from dao_service.keys.release import ReleasedPage, SignedRequest

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post(
    "/challenge", response_model=ChallengeResponse, responses={503: {"model": ErrorResponse}}
)
async def challenge(body: ChallengeRequest, service: KeyReleaseDep) -> ChallengeResponse:
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


REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (403, 429, 503)
}


@router.post("/release", response_model=ReleaseResponse, responses=REFUSALS)
async def release(
    body: ReleaseRequest, service: KeyReleaseDep, chain: ChainDep, request: Request
) -> ReleaseResponse:
    """The first page of keys, on a signed request."""
    signed = SignedRequest.of(body)
    held_by_nodes(chain)
    page = await service.release(signed, body.limit, client_address(request))
    return page_response(page)


@router.post("/release/next", response_model=ReleaseResponse, responses=REFUSALS)
async def next_page(
    body: NextPageRequest, service: KeyReleaseDep, chain: ChainDep, request: Request
) -> ReleaseResponse:
    """The page after the one whose `next_cursor` this is (no new signature needed)."""
    held_by_nodes(chain)
    page = await service.next_page(body.cursor, body.limit, client_address(request))
    return page_response(page)


def held_by_nodes(chain: ChainProvider) -> None:
    """With custody nodes the service holds no file key: it says where they are."""
    if chain().custody_nodes() is not None:
        raise KeyRefused(
            "this deployment's file keys are held by its custody nodes (the chain's "
            "CustodyNodeSet): ask them, as `datadao data fetch` does"
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def page_response(page: ReleasedPage) -> ReleaseResponse:
    return ReleaseResponse(
        address=page.address,
        dataset_id=page.dataset_id,
        keys=[
            ReleasedKeyModel(
                contribution_id=k.contribution_id,
                cid=k.cid,
                sha256=k.sha256,
                iv=base64.b64encode(k.iv).decode(),
                encrypted_key=k.encrypted_key.hex(),
            )
            for k in page.keys
        ],
        next_cursor=page.cursor,
    )
