"""The value score: how an accepted export's integer score is reached.

    authenticity  1 if every authenticity check passed, else the export is rejected
    ownership     1.0 verification code found; 0.6 account bound to this wallet without a
                  code; 0.4 no account identity at all (generic export: signature only)
    uniqueness    new records / records of any quality (0 when there are none)
    quality       mean quality of the new records (see validators.quality; word salad
                  and filler count a tenth, and the line says how many records were)
    demand        what renters valued: the measured value per record of this source over
                  recent rentals, relative to all sources' (0.5 to 2; 1 before any rental
                  has measured value); the service supplies it in the context
    score         floor(10 x ownership x demand x sum of the new records' quality)

A new record is one of quality above 0 whose exact fingerprint and every LSH band are
absent from the index and from earlier records of the same export. Deterministic: the
same export against the same index and demand always scores the same.
"""

import math
from dataclasses import dataclass

from validators.naturalness import REASON
from validators.report import ScoreLine

POINTS_PER_RECORD = 10
OWNERSHIP_CODE = 1.0
OWNERSHIP_BOUND_ACCOUNT = 0.6
OWNERSHIP_SIGNATURE_ONLY = 0.4
DEMAND_MIN, DEMAND_MAX = 0.5, 2.0


@dataclass(frozen=True)
class Demand:
    """How much renters valued records of one source lately: a factor on the score."""

    factor: float
    reason: str


NO_DEMAND = Demand(1.0, "no rental has measured the value of this kind of data yet")


def demand_key(source: str, kind: str) -> str:
    """What demand is measured per: a source and a kind of record ("reddit/comment")."""
    return f"{source}/{kind}"


def export_demand(
    source: str, new_kinds: list[str], new_qualities: list[float], by_kind: dict[str, Demand]
) -> Demand:
    """The export's demand factor: each new record's kind's factor, weighted by the
    record's quality (so the score is as if each record were multiplied by its own)."""
    weight: dict[str, float] = {}
    for kind, quality in zip(new_kinds, new_qualities, strict=True):
        weight[kind] = weight.get(kind, 0.0) + quality
    total = sum(weight.values())
    if not total:
        return NO_DEMAND
    found = {k: by_kind.get(demand_key(source, k), NO_DEMAND) for k in sorted(weight)}
    factor = sum(weight[k] * d.factor for k, d in found.items()) / total
    return Demand(factor, "; ".join(dict.fromkeys(d.reason for d in found.values())))


def score(
    ownership: float,
    ownership_reason: str,
    new_qualities: list[float],
    total_records: int,
    *,
    unnatural: int = 0,
    demand: Demand = NO_DEMAND,
    max_score: int | None = None,
) -> tuple[int, float, float, list[ScoreLine]]:
    """(score, uniqueness, quality, breakdown) for an export whose checks all passed;
    at most `max_score`, the most one contribution may mint on-chain."""
    factor = min(max(demand.factor, DEMAND_MIN), DEMAND_MAX)
    new = len(new_qualities)
    uniqueness = new / total_records if total_records else 0.0
    quality = sum(new_qualities) / new if new else 0.0
    points = sum(new_qualities)
    value = math.floor(POINTS_PER_RECORD * ownership * factor * points + 1e-9)
    capped = max_score is not None and value > max_score
    cap = f"; capped at {max_score}, the most one contribution mints" if capped else ""
    value = min(value, max_score) if max_score is not None else value
    breakdown = [
        ScoreLine(signal="authenticity", value=1.0, reason="every authenticity check passed"),
        ScoreLine(signal="ownership", value=ownership, reason=ownership_reason),
        ScoreLine(signal="uniqueness", value=round(uniqueness, 4),
                  reason=f"{new} of {total_records} records are new to the dataset"),
        ScoreLine(signal="quality", value=round(quality, 4),
                  reason=f"mean quality of the {new} new records" + (
                      f"; {unnatural} of the export's records read as {REASON}, worth a tenth"
                      if unnatural else "; every judged record reads as natural text")),
        ScoreLine(signal="demand", value=round(factor, 4), reason=demand.reason),
        ScoreLine(signal="score", value=float(value),
                  reason=f"floor({POINTS_PER_RECORD} x {ownership} x {factor:g} x "
                         f"{points:.1f} quality points){cap}"),
    ]  # fmt: skip
    return value, uniqueness, quality, breakdown
