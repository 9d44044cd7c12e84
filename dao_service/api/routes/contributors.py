"""The contributors' page's data: one wallet's contributions, tokens and earnings, and the
transactions its wallet sends (a claim with its proof, a delegation)."""

from typing import Any

from eth_utils import to_checksum_address
from fastapi import APIRouter
from sqlalchemy import select

from dao_service.api.deps import ChainDep, EarningsDep, IntakeDep
from dao_service.api.routes.contributions import _address
from dao_service.api.schemas import (
    Call,
    ContributorContribution,
    ContributorView,
    DatasetEarningsModel,
    ErrorResponse,
)
from dao_service.chain.attestations import WITHDRAWAL_FIELDS, withdrawal_typed_data
from dao_service.models import Contribution, Stage

router = APIRouter(prefix="/api", tags=["contributors"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 503)
}


@router.get("/contributors/{address}", response_model=ContributorView, responses=ERRORS)
def contributor(
    address: str, intake: IntakeDep, earnings: EarningsDep, chain: ChainDep
) -> ContributorView:
    """One wallet's contributions (status, score, tokens, withdrawn), tokens, votes,
    delegate, and earnings per rental with the value that earned them."""
    dao = chain()
    wallet = _address(address, "address")
    with intake.sessions() as session:
        rows = session.scalars(
            select(Contribution).where(Contribution.contributor == wallet).order_by(Contribution.id)
        ).all()
    contributions = []
    for row in rows:
        tokens = 0
        if row.fingerprint and row.stage == Stage.MINTED:
            tokens = dao.weight_and_tokens(bytes.fromhex(row.fingerprint[2:]))[1]
        contributions.append(
            ContributorContribution(
                id=row.public_id,
                dataset_id=row.dataset_id,
                source=row.source,
                status="withdrawn" if row.withdrawn else row.stage.value,
                score=row.score,
                tokens_wei=str(tokens),
                withdrawn=row.withdrawn,
                cid=row.cid,
                fingerprint=row.fingerprint,
                records=row.record_count,
                record_schema=row.schema_id,
            )
        )
    balance, votes, delegate = dao.holdings(wallet)
    typed = withdrawal_typed_data(b"\0" * 32, 0, dao.chain_id, dao.registry_address)
    return ContributorView(
        address=wallet,
        tokens_wei=str(balance),
        votes_wei=str(votes),
        delegate=delegate,
        contributions=contributions,
        earnings=[DatasetEarningsModel(**e) for e in earnings.account_earnings(wallet)],
        withdrawal_domain=typed["domain"],
        withdrawal_types={
            "EIP712Domain": typed["types"]["EIP712Domain"],
            "Withdrawal": WITHDRAWAL_FIELDS,
        },
    )


@router.get("/calls/delegate", response_model=Call, responses=ERRORS)
def delegate_call(to: str, chain: ChainDep) -> Call:
    """The transaction that lets `to` vote with the sender's tokens."""
    return Call(**chain().delegate_call(to_checksum_address(_address(to, "delegate"))))
