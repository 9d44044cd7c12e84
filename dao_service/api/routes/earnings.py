"""Rental income by measured value: renters' validation samples, settling an executed
rental, and the published earnings tables."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from dao_service.api.deps import EarningsDep, IpfsDep
from dao_service.api.routes.contributions import _address, _b64, _hex
from dao_service.api.schemas import (
    EarningsTableModel,
    ErrorResponse,
    SampleReceipt,
    SettledRental,
)
from dao_service.earnings.samples import SealedSample
from dao_service.earnings.table import PublishedTable
from dao_service.exceptions import SampleRefused
from dao_service.models import EarningsTable

router = APIRouter(prefix="/api", tags=["earnings"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 403, 404, 409, 413, 429, 503)
}


# Ids are numbers the database can hold (a larger one names nothing here): 422 past that.
RentalId = Annotated[int, Path(ge=0, lt=2**63, description="the rental's number")]
DatasetId = Annotated[int, Path(ge=0, lt=2**32, description="the dataset's number")]


def _settled(row: EarningsTable) -> SettledRental:
    return SettledRental(
        rental_id=row.rental_id,
        dataset_id=row.dataset_id,
        epoch=row.epoch,
        cid=row.cid,
        root=row.root,
        total_wei=row.total,
        tx_hash=row.tx_hash,
    )


@router.post("/rentals/samples", response_model=SampleReceipt, responses=ERRORS)
async def submit_sample(
    request: Request,
    earnings: EarningsDep,
    renter: str = Form(...),
    sha256: str = Form(..., description="0x-hex SHA-256 of the plaintext sample"),
    wrapped_key: str = Form(..., description="base64 RSA-OAEP-wrapped AES-256 key"),
    iv: str = Form(..., description="base64 12-byte AES-GCM IV"),
    ciphertext: UploadFile = File(..., description="AES-256-GCM ciphertext with the tag appended"),
    nonce: str = Form(..., max_length=64, description="from POST /api/contributions/nonce"),
    signature: str = Form(..., description="the renter's personal_sign of the sample statement"),
) -> SampleReceipt:
    """Store a renter's validation sample, encrypted to the service like an upload and
    signed by the renter's wallet (EIP-191, `dao_service/chain/sample_statement.py`: the
    sample's SHA-256 with a nonce issued to that wallet)."""
    limit = earnings.settings.max_sample_bytes
    if int(request.headers.get("content-length") or 0) > limit + 64 * 1024:
        raise SampleRefused(f"The sample exceeds {limit:,} bytes.", 413)
    sealed = SealedSample(
        renter=_address(renter, "renter"),
        sha256=_hex(sha256, "sha256", 32),
        wrapped_key=_b64(wrapped_key, "wrapped_key"),
        iv=_b64(iv, "iv"),
        ciphertext=await ciphertext.read(limit + 17),
        nonce=nonce,
        signature=_hex(signature, "signature", 65),
        client=request.client.host if request.client else "unknown",
    )
    row = await run_in_threadpool(earnings.submit_sample, sealed)
    return SampleReceipt(sha256=row.sha256, size=row.size, records=row.records, cid=row.cid)


@router.post("/rentals/{rental_id}/settle", response_model=SettledRental, responses=ERRORS)
def settle(rental_id: RentalId, earnings: EarningsDep) -> SettledRental:
    """Settle an executed rental's earnings now (the service also does it on its own)."""
    return _settled(earnings.settle(rental_id))


@router.get("/earnings/{dataset_id}", response_model=EarningsTableModel, responses=ERRORS)
def latest_table(dataset_id: DatasetId, earnings: EarningsDep, ipfs: IpfsDep) -> EarningsTableModel:
    """The dataset's latest earnings table (each links the one before it)."""
    row = earnings.latest(dataset_id)
    if row is None:
        raise SampleRefused(f"Dataset {dataset_id} has no earnings table yet.", 404)
    return EarningsTableModel(
        cid=row.cid, table=PublishedTable.model_validate_json(ipfs.cat(row.cid))
    )
