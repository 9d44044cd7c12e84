"""The data-valuation method against cases computed by hand and by brute force."""

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from dao_service.earnings.valuation import (
    ContributionRecords,
    knn_shapley,
    split,
    value_contributions,
)
from validators.pipeline import export_texts


def utility(similarity_row: np.ndarray, subset: tuple[int, ...], k: int) -> float:
    """U(S) for one test point: the mean payoff of S's K nearest, over K (ties: lowest index)."""
    nearest = sorted(subset, key=lambda i: (-similarity_row[i], i))[:k]
    return float(sum(similarity_row[i] for i in nearest)) / k


def brute_force_shapley(similarity: np.ndarray, k: int) -> np.ndarray:
    """Shapley values by the definition: the mean marginal gain over every ordering."""
    n_test, n = similarity.shape
    values = np.zeros(n)
    orderings = list(itertools.permutations(range(n)))
    for row in similarity:
        for ordering in orderings:
            for position, player in enumerate(ordering):
                before = ordering[:position]
                values[player] += utility(row, (*before, player), k) - utility(row, before, k)
    return values / len(orderings) / n_test


def test_knn_shapley_matches_a_case_computed_by_hand() -> None:
    # K = 1, one sample text, three records with similarities 0.9, 0.5, 0.1.
    # U(S) = the best similarity in S. By hand, over the 6 orderings: the 0.9 record adds
    # 0.9 when first (2 orderings), 0.4 after the 0.5 one, 0.8 after the 0.1 one, 0.4 when
    # last (2): 3.8 / 6 = 19/30. The 0.5 record: 0.5, 0.5, 0.4, 0, 0, 0 -> 1.4 / 6 = 7/30.
    # The 0.1 record: 0.1 first (2 orderings), else 0 -> 0.2 / 6 = 1/30.
    values = knn_shapley(np.array([[0.5, 0.9, 0.1]]), k=1)
    assert values == pytest.approx([7 / 30, 19 / 30, 1 / 30])
    assert float(Fraction(19, 30) + Fraction(7, 30) + Fraction(1, 30)) == pytest.approx(0.9)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_knn_shapley_equals_the_definition(k: int) -> None:
    rng = np.random.default_rng(k)
    similarity = rng.random((3, 6)).round(2)
    assert knn_shapley(similarity, k) == pytest.approx(brute_force_shapley(similarity, k))


def test_values_add_up_to_the_utility_of_all_records() -> None:
    rng = np.random.default_rng(7)
    similarity = rng.random((20, 300))
    values = knn_shapley(similarity, k=5)
    whole = np.mean([np.sort(row)[::-1][:5].sum() / 5 for row in similarity])
    assert values.sum() == pytest.approx(whole)  # Shapley efficiency: U(all) - U(none)
    assert (values >= 0).all()


def records(key: str, texts: list[str]) -> ContributionRecords:
    export = json.dumps([{"id": i, "text": t} for i, t in enumerate(texts)]).encode()
    read = export_texts(export)
    assert read.texts == texts
    return ContributionRecords(key, read.texts, read.band_keys, read.kinds)


ROUTER = [
    "my router keeps dropping the wifi connection every evening",
    "how do I reset the router to factory settings without the admin password",
    "the modem light blinks orange and the internet connection is down",
    "changing the wifi channel fixed the slow connection on my laptop",
    "after the firmware update the router no longer gives out addresses",
    "my wifi signal is weak upstairs, would a mesh router help the connection",
]
GARDEN = [
    "the tomatoes in my garden split after heavy rain last week",
    "planting basil next to tomatoes keeps the aphids away",
    "my roses need pruning before the first frost arrives",
    "compost with coffee grounds makes the soil rich for peppers",
    "the cucumbers wilted in the afternoon sun despite watering",
    "mulch keeps the weeds down between the strawberry plants",
]
SAMPLE = [
    "customer says the router drops the wifi connection, how to fix it",
    "internet connection down, modem light orange, what should the customer try",
    "how to reset a router to factory settings",
]


def test_matching_data_is_worth_most_a_near_copy_little_and_off_topic_least() -> None:
    # A light edit of each record, and one record of its own.
    near_copy = [t.replace("my ", "the ") for t in ROUTER]
    near_copy.append("the ethernet cable to the router was loose, the connection is fine now")
    valuation = value_contributions(
        [records("match", ROUTER), records("garden", GARDEN), records("copy", near_copy)],
        SAMPLE,
    )
    v = valuation.values
    assert v["match"] > 4 * v["copy"] > 0
    assert v["garden"] < 0.01 * v["copy"]
    assert valuation.records_valued == {"match": 6, "garden": 6, "copy": 1}


def test_split_rounds_down_and_keeps_at_most_a_wei_per_share() -> None:
    amounts = split(10**18 + 7, {"a": 2.0, "b": 1.0, "c": 0.0, "d": -1.0})
    assert amounts["c"] == amounts["d"] == 0
    assert amounts["a"] == pytest.approx(2 * amounts["b"], abs=2)
    dust = 10**18 + 7 - sum(amounts.values())
    assert 0 <= dust <= 2
    assert split(100, {"a": 0.0}) == {"a": 0}
    assert sum(split(1, {"a": 1.0, "b": 1.0, "c": 1.0}).values()) <= 1
    assert math.isclose(sum(split(3 * 10**18, {"x": 0.1, "y": 0.2}).values()), 3 * 10**18)


def test_a_sample_copied_from_the_dataset_routes_no_payment() -> None:
    """A renter's "sample" made of its own earlier contribution's records (a sybil's)
    would send it most of its own payment; such copies are not the renter's task."""
    honest = [records("match", ROUTER), records("garden", GARDEN)]
    sybil_texts = [
        f"ticket {n}: the zorblax router drops wifi after firmware {n}, resetting helps"
        for n in range(20)
    ]
    sybil = records("sybil", sybil_texts)
    copied = value_contributions([*honest, sybil], sybil_texts[:10])
    assert copied.copies_dropped == 10
    assert copied.values == {"match": 0.0, "garden": 0.0, "sybil": 0.0}  # settled by score

    task = value_contributions([*honest, sybil], SAMPLE)  # the renter's real task
    assert task.copies_dropped == 0 and task.values["match"] > task.values["sybil"]
