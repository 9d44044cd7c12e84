"""Ownership taken back: the contributions whose account's proven owner took back the
binding they were made under, awaiting a DAO proposal to void them."""

from datetime import UTC

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from dao_service.api.deps import ChainDep, IntakeDep, SettingsDep
from dao_service.api.routes.contributions import ERRORS
from dao_service.api.schemas import DisownedContribution
from dao_service.intake.ownership import awaiting_void

router = APIRouter(prefix="/api/ownership", tags=["ownership"])


@router.get("/disowned", response_model=list[DisownedContribution], responses=ERRORS)
async def disowned(
    intake: IntakeDep,
    settings: SettingsDep,
    chain: ChainDep,
    dataset_id: int | None = Query(None, ge=1, le=2**32 - 1),  # a uint32 on-chain
) -> list[DisownedContribution]:
    """The dataset's contributions disowned by their account's proven owner, oldest first,
    each with the command that proposes voiding it (`live_on_chain` false once voided)."""
    dataset = dataset_id or settings.dataset_id
    rows = await run_in_threadpool(awaiting_void, intake.sessions, dataset)
    dao = chain()
    listed = []
    for row in rows:
        assert row.fingerprint is not None and row.disowned_at is not None
        weight = await run_in_threadpool(dao.live_weight, bytes.fromhex(row.fingerprint[2:]))
        listed.append(
            DisownedContribution(
                id=row.public_id,
                dataset_id=row.dataset_id,
                contributor=row.contributor,
                fingerprint=row.fingerprint,
                score=row.score,
                disowned_at=int(row.disowned_at.replace(tzinfo=UTC).timestamp()),
                live_on_chain=weight > 0,
                proposal=(
                    f"datadao proposal new \"Void contribution {row.public_id}: its account's "
                    f'owner took it back" --call ContributionRegistry.voidContribution:'
                    f"{row.fingerprint}"
                ),
            )
        )
    return listed
