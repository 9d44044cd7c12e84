"""A custody node's routes: its identity, deposits, destruction, and release."""

import base64
from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, select

from dao_service.api.schemas import ErrorResponse, NextPageRequest, ReleaseRequest, RequestBody
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.custody import holding
from dao_service.custody.chain import NodeChainProvider
from dao_service.custody.node_key import NodeKey
from dao_service.custody.release import ShareRelease
from dao_service.keys.release import ReleasedPage, SignedRequest
from dao_service.models import CustodyShare


async def get_key(request: Request) -> NodeKey:
    key: NodeKey = request.app.state.key
    return key


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_chain(request: Request) -> NodeChainProvider:
    chain: NodeChainProvider = request.app.state.chain
    return chain


KeyDep = Annotated[NodeKey, Depends(get_key)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ChainDep = Annotated[NodeChainProvider, Depends(get_chain)]

HEX = r"^0x[0-9a-fA-F]"
REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 403, 429, 503)
}


class NodeIdentity(BaseModel):
    public_key: str = Field(description="uncompressed secp256k1, hex: shares are sealed to it")
    shares_held: int


class DepositRequest(RequestBody):
    """A share of one contribution's file key, sealed to this node, signed by a validator
    (EIP-191 of `dao_service.chain.custody_deposit.deposit_text`)."""

    # Below 2**31 - 2**20: a node's database may keep it in a 32-bit column, and a taken
    # position moves a share after the last, which must still fit.
    sequence: int = Field(ge=1, lt=2**31 - 2**20, description="the service's contribution id")
    contribution_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,35}$")
    dataset_id: int = Field(ge=0, lt=2**32)
    contributor: str = Field(pattern=HEX + r"{40}$")
    fingerprint: str = Field(pattern=HEX + r"{64}$")
    cid: str = Field(min_length=1, max_length=128)
    sha256: str = Field(pattern=HEX + r"{64}$")
    iv: str = Field(max_length=32, description="base64 of the blob's 12-byte AES-GCM IV")
    sealed_share: str = Field(pattern=r"^[0-9a-f]{2,2048}$", description="hex ECIES")
    signature: str = Field(pattern=HEX + r"{130}$")


class DepositResponse(BaseModel):
    contribution_id: str
    share_index: int


class DestroyRequest(RequestBody):
    fingerprint: str = Field(pattern=HEX + r"{64}$")


class DestroyResponse(BaseModel):
    fingerprint: str
    destroyed: bool = Field(description="True if this node held a share and deleted it")


class ReleasedShareModel(BaseModel):
    contribution_id: str
    cid: str
    sha256: str
    iv: str = Field(description="base64 AES-GCM IV of the blob")
    share_index: int
    encrypted_share: str = Field(description="hex ECIES (secp256k1) ciphertext of the share")


class ShareReleaseResponse(BaseModel):
    address: str
    dataset_id: int
    keys: list[ReleasedShareModel]
    next_cursor: str | None


router = APIRouter(tags=["custody node"])


# The release routes first: requests are matched in this order, and releases are most of
# them. The release service comes from the app's state, not through a dependency: solving
# one costs a tenth of a release.
@router.post("/api/keys/release", response_model=ShareReleaseResponse, responses=REFUSALS)
async def release(body: ReleaseRequest, request: Request) -> ShareReleaseResponse:
    """This node's shares of the first page, on the renter's signed request."""
    service: ShareRelease = request.app.state.release
    signed = SignedRequest.of(body)
    return page_response(await service.release(signed, body.limit, client_address(request)))


@router.post("/api/keys/release/next", response_model=ShareReleaseResponse, responses=REFUSALS)
async def next_page(body: NextPageRequest, request: Request) -> ShareReleaseResponse:
    service: ShareRelease = request.app.state.release
    return page_response(await service.next_page(body.cursor, body.limit, client_address(request)))


@router.get("/healthz", response_model=NodeIdentity)
def identity(key: KeyDep, engine: EngineDep) -> NodeIdentity:
    with engine.connect() as connection:
        held = connection.execute(select(func.count()).select_from(CustodyShare)).scalar_one()
    return NodeIdentity(public_key=key.public_key, shares_held=held)


@router.get("/api/node-sets/{epoch}", response_model=CustodyNodeSet, responses=REFUSALS)
def node_set(epoch: int, chain: ChainDep) -> CustodyNodeSet:
    """Custody node set `epoch` as this node reads the chain through its own RPC: the
    service takes a new set for new keys once M nodes of the set before confirm it."""
    found = chain().node_set(epoch)
    if found is None:
        raise holding.CustodyError(f"the chain records no custody node set {epoch}")
    return found


@router.post("/api/shares", response_model=DepositResponse, responses=REFUSALS)
def take_deposit(
    body: DepositRequest, key: KeyDep, engine: EngineDep, chain: ChainDep
) -> DepositResponse:
    try:
        iv = base64.b64decode(body.iv, validate=True)
    except ValueError:
        iv = b""
    if len(iv) != 12:
        raise holding.CustodyError("iv must be base64 of 12 bytes")
    given = holding.Deposit(
        body.sequence, body.contribution_id, body.dataset_id, to_checksum_address(body.contributor),
        body.fingerprint, body.cid, body.sha256, iv, bytes.fromhex(body.sealed_share),
        bytes.fromhex(body.signature[2:]),
    )  # fmt: skip
    index = holding.deposit(engine, key, chain(), given)
    return DepositResponse(contribution_id=body.contribution_id, share_index=index)


@router.post("/api/shares/destroy", response_model=DestroyResponse, responses=REFUSALS)
def destroy(body: DestroyRequest, engine: EngineDep, chain: ChainDep) -> DestroyResponse:
    destroyed = holding.destroy(engine, chain(), body.fingerprint)
    return DestroyResponse(fingerprint=body.fingerprint, destroyed=destroyed)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def page_response(page: ReleasedPage) -> ShareReleaseResponse:
    return ShareReleaseResponse(
        address=page.address,
        dataset_id=page.dataset_id,
        keys=[
            ReleasedShareModel(
                contribution_id=k.contribution_id,
                cid=k.cid,
                sha256=k.sha256,
                iv=base64.b64encode(k.iv).decode(),
                share_index=k.share_index or 0,
                encrypted_share=k.encrypted_key.hex(),
            )
            for k in page.keys
        ],
        next_cursor=page.cursor,
    )
