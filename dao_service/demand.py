"""The demand line of the intake score: what renters valued lately, per source.

Each settled rental's table records, per source, the measured value of its records and
how many were measured (`EarningsTable.demand`). A source's demand is its value per
record over the dataset's recent rentals relative to every source's, so a kind of data
renters found useful scores higher in the next contributions. Reads the database only.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.models import EarningsTable
from validators import Demand

RECENT_RENTALS = 10


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
    return {
        source: Demand(
            (value[source] / n) / overall,
            f"renters valued {source} records at {(value[source] / n) / overall:.2f} x the "
            f"average over the last {len(tables)} rental(s) ({n:,} records measured)",
        )
        for source, n in records.items()
        if n
    }
