"""The split: each live contribution valued against the renter's sample, the payment
split by those values (by score when none of them helped the sample), the accounts' new
cumulative earnings, and what the rental says about demand. Reads and writes nothing."""

from dataclasses import dataclass

from dao_service.earnings.plan import Plan
from dao_service.earnings.table import ContributionShare
from dao_service.earnings.valuation import ContributionRecords, split, value_contributions
from dao_service.exceptions import SettlementError
from dao_service.models import Contribution
from validators.scoring import demand_key


@dataclass(frozen=True)
class Shares:
    contributions: list[ContributionShare]
    cumulative: dict[str, int]  # account -> earned by value, this rental included
    split_by: str
    copies_dropped: int  # sample texts left out as near copies of the dataset's records
    # demand key (source and kind) -> [measured value, records measured] (the demand line)
    demand: dict[str, list[float]]


def split_payment(
    plan: Plan, contributions: list[tuple[ContributionRecords, Contribution]], sample: list[str]
) -> Shares:
    """`plan`'s amount to split, shared by the contributions' value to the `sample` texts
    (none: the renter's sample never reached the service)."""
    valuation = value_contributions([records for records, _ in contributions], sample)
    values = valuation.values
    split_by = "measured value"
    if not any(v > 0 for v in values.values()):
        # The sample needed none of the data: split by score, as for a rental without one.
        values = {records.key: float(row.score) for records, row in contributions}
        split_by = "score (no contribution helped the sample)"
    amounts = split(plan.to_split, values)
    if not contributions and plan.previous is None:
        raise SettlementError(f"Dataset {plan.dataset_id} has no live contributions to pay.")

    cumulative = dict(plan.cumulative)
    rows = []
    for records, row in contributions:
        amount = amounts[records.key]
        cumulative[row.contributor] = cumulative.get(row.contributor, 0) + amount
        rows.append(
            ContributionShare(
                contribution=records.key,
                contributor=row.contributor,
                source=row.source,
                records=valuation.records_valued[records.key],
                value=valuation.values[records.key],
                amount=amount,
            )
        )
    demand: dict[str, list[float]] = {}
    for records, row in contributions:
        for kind, (value, count) in valuation.by_kind.get(records.key, {}).items():
            measured = demand.setdefault(demand_key(row.source, kind), [0.0, 0])
            measured[0] += value
            measured[1] += count
    return Shares(rows, cumulative, split_by, valuation.copies_dropped, demand)
