"""The demand line of the intake score: what renters valued lately, per source.

Each settled rental's table records, per source, the measured value of its records and
how many were measured (`EarningsTable.demand`). A source's demand is its value per
record over the dataset's recent rentals relative to every source's, so a kind of data
renters found useful scores higher in the next contributions. Reads the database only.

Shrunk towards 1: each source counts as if PRIOR_RECORDS more of its records had been
measured at the average, so a source with a handful of records measured (or a renter
valuing its own few records) cannot swing the score of everything that follows.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.models import EarningsTable
from validators import Demand

RECENT_RENTALS = 10
PRIOR_RECORDS = 100


def recent_demand(sessions: sessionmaker[Session], dataset_id: int) -> dict[str, Demand]:
    with sessions() as session:
        tables = session.scalars(
            select(EarningsTable.demand)
            .where(EarningsTable.dataset_id == dataset_id)
            .order_by(EarningsTable.epoch.desc())
            .limit(RECENT_RENTALS)
        ).all()
    value: dict[str, float] = {}
    records: dict[str, int] = {}
    for table in tables:
        for source, (v, n) in table.items():
            value[source] = value.get(source, 0.0) + float(v)
            records[source] = records.get(source, 0) + int(n)
    measured = sum(records.values())
    overall = sum(value.values()) / measured if measured else 0.0
    if overall <= 0:
        return {}
    factors = {
        source: (value[source] + PRIOR_RECORDS * overall) / ((n + PRIOR_RECORDS) * overall)
        for source, n in records.items()
        if n
    }
    return {
        source: Demand(
            factor,
            f"renters valued {source} records at {factor:.2f} x the average over the last "
            f"{len(tables)} rental(s) ({records[source]:,} records measured)",
        )
        for source, factor in factors.items()
    }
