"""The demand line: what renters valued lately raises (or lowers) the next scores."""

from pathlib import Path

from dao_service.earnings.demand import recent_demand
from dao_service.models import EarningsTable
from dao_service.storage.database import make_engine, migrate, session_factory
from validators import Demand
from validators.scoring import NO_DEMAND, score


def test_demand_is_value_per_record_of_a_source_relative_to_all(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    sessions = session_factory(engine)
    assert recent_demand(sessions, 1) == {}  # no rental measured anything yet
    with sessions.begin() as session:
        for epoch, demand in enumerate(
            [
                {"reddit": [3.0, 10], "twitter": [1.0, 10]},
                {"reddit": [1.0, 10], "twitter": [0, 10]},
            ],
            start=1,
        ):
            session.add(
                EarningsTable(
                    rental_id=epoch,
                    dataset_id=1,
                    epoch=epoch,
                    cid="bafy",
                    root="0x",
                    total="0",
                    settled_funding="0",
                    demand=demand,
                )
            )
    found = recent_demand(sessions, 1)
    # reddit: 4 over 20 records, twitter 1 over 20; all: 5 / 40 = 0.125 per record. Each
    # shrunk by 100 records at 0.125: reddit (4 + 12.5) / (120 x 0.125) = 1.1, twitter 0.9.
    assert round(found["reddit"].factor, 6) == 1.1 and round(found["twitter"].factor, 6) == 0.9
    assert (
        "reddit records at 1.10 x the average over the last 2 rental(s)" in found["reddit"].reason
    )
    # A rental that valued 3 records of one source at 4.5x the average per record: alone
    # they would take the factor to its cap of 2; shrunk, they move it a little.
    with sessions.begin() as session:
        session.add(
            EarningsTable(
                rental_id=3,
                dataset_id=1,
                epoch=3,
                cid="bafy",
                root="0x",
                total="0",
                settled_funding="0",
                demand={"generic": [1.0, 3], "reddit": [0.1, 40]},
            )
        )
    assert 1.0 < recent_demand(sessions, 1)["generic"].factor < 1.2
    assert recent_demand(sessions, 2) == {}  # per dataset
    engine.dispose()


def test_demand_multiplies_the_score_within_bounds_and_shows_in_the_breakdown() -> None:
    base, *_, lines = score(0.4, "signature only", [1.0] * 10, 10)
    assert base == 40 and [line.signal for line in lines][-2:] == ["demand", "score"]
    assert lines[-2].value == 1.0 and lines[-2].reason == NO_DEMAND.reason
    wanted, *_, lines = score(0.4, "signature only", [1.0] * 10, 10, demand=Demand(1.6, "renters"))
    assert wanted == 64 and lines[-2].reason == "renters"
    capped, *_ = score(0.4, "signature only", [1.0] * 10, 10, demand=Demand(9.0, "a lot"))
    floor, *_ = score(0.4, "signature only", [1.0] * 10, 10, demand=Demand(0.0, "none"))
    assert (capped, floor) == (80, 20)  # between 0.5 and 2 times


def test_demand_is_per_source_and_kind_weighted_by_the_new_records() -> None:
    from validators.scoring import demand_key, export_demand

    by_kind = {
        demand_key("reddit", "comment"): Demand(2.0, "comments wanted"),
        demand_key("reddit", "post"): Demand(0.5, "posts not"),
    }
    # Three comments and one post of equal quality: (3 x 2 + 1 x 0.5) / 4.
    mixed = export_demand("reddit", ["comment", "post", "comment", "comment"], [1.0] * 4, by_kind)
    assert mixed.factor == 6.5 / 4 and mixed.reason == "comments wanted; posts not"
    assert export_demand("reddit", ["post"], [1.0], by_kind).factor == 0.5
    assert export_demand("twitter", ["tweet"], [1.0], by_kind) == NO_DEMAND  # not measured


def test_valuation_reports_value_per_kind_for_the_demand_line() -> None:
    import numpy as np

    from dao_service.earnings.valuation import ContributionRecords, value_contributions

    keys = np.arange(3 * 21, dtype=np.int64).reshape(3, 21)  # no near duplicates
    texts = ["router wifi drops every night", "garden tomatoes split", "router reset help"]
    valued = value_contributions(
        [ContributionRecords("c", texts, keys, ["comment", "post", "comment"])],
        ["how to fix a router that drops wifi"],
    )
    comments, posts = valued.by_kind["c"]["comment"], valued.by_kind["c"]["post"]
    assert comments[1] == 2 and posts[1] == 1 and comments[0] > posts[0] >= 0
    assert abs(comments[0] + posts[0] - valued.values["c"]) < 1e-9


def test_a_score_above_what_one_contribution_may_mint_is_capped_with_its_reason() -> None:
    """Above the registry's MintLimits.maxScore the chain refuses the attestation every
    time: the validator caps the score instead, and the receipt says so."""
    value, *_, lines = score(1.0, "code", [1.0] * 100, 100, max_score=250)
    assert value == 250 and lines[-1].value == 250.0
    assert lines[-1].reason.endswith("capped at 250, the most one contribution mints")
    assert score(1.0, "code", [1.0] * 10, 10, max_score=250)[0] == 100  # under it: as is
