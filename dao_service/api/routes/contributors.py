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
    ErrorResponse,
    IncomeModel,
)
from dao_service.chain.attestations import WITHDRAWAL_FIELDS, withdrawal_typed_data
from dao_service.chain.dao import DaoChain
from dao_service.core.config import Settings
from dao_service.intake import IntakeService
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
    contributions = _contributions(intake, dao, wallet)
    balance, votes, delegate = dao.holdings(wallet)
    typed = withdrawal_typed_data(b"\0" * 32, 0, dao.chain_id, dao.registry_address)
    return ContributorView(
        address=wallet,
        tokens_wei=str(balance),
        votes_wei=str(votes),
        delegate=delegate,
        contributions=contributions,
        income=_income(earnings.settings, wallet),
        withdrawal_domain=typed["domain"],
        withdrawal_types={
            "EIP712Domain": typed["types"]["EIP712Domain"],
            "Withdrawal": WITHDRAWAL_FIELDS,
        },
    )


@router.get(
    "/contributors/{address}/contributions",
    response_model=list[ContributorContribution],
    responses=ERRORS,
)
def contributions_of(
    address: str, intake: IntakeDep, chain: ChainDep
) -> list[ContributorContribution]:
    """One wallet's contributions, each with its id and its on-chain fingerprint (what
    `datadao history` names a contribution by)."""
    return _contributions(intake, chain(), _address(address, "address"))


def _contributions(
    intake: IntakeService, dao: DaoChain, wallet: str
) -> list[ContributorContribution]:
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
    return contributions


def _income(settings: Settings, wallet: str) -> IncomeModel:
    """What `wallet` is owed, counted by the same code as the command line's, and the
    transactions that collect all of it."""
    from dao_service.client.core import DaoClient, Endpoints
    from dao_service.client.income import claim_calls, income

    client = DaoClient(
        Endpoints(
            rpc_url=settings.chain_rpc_url,
            service_url=settings.service_url,
            manifest_path=settings.manifest_file,
            ipfs_api_url=settings.ipfs_api_url,
            data_dir=settings.data_dir,
        )
    )
    owed = income(client, wallet)
    pool = client.pool
    calls = [Call(to=pool.address, data=pool.data(c.function, *c.args)) for c in claim_calls(owed)]
    shown = owed.as_json()
    for dataset in shown["datasets"]:
        for key in [k for k in dataset if k.endswith("_wei")]:
            dataset[key] = str(dataset[key])
        for rental in dataset["rentals"]:
            rental["amount_wei"] = str(rental["amount_wei"])
    return IncomeModel(
        claimable_wei=str(owed.claimable_wei),
        claimable=shown["claimable"],
        rounding=shown["rounding"],
        datasets=shown["datasets"],
        claim_calls=calls,
    )


@router.get("/calls/delegate", response_model=Call, responses=ERRORS)
def delegate_call(to: str, chain: ChainDep) -> Call:
    """The transaction that lets `to` vote with the sender's tokens."""
    return Call(**chain().delegate_call(to_checksum_address(_address(to, "delegate"))))
