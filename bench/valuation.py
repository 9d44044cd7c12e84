#!/usr/bin/env python
"""Time of valuing contributions against a renter's sample (exact KNN-Shapley over hashed
features), on synthetic text; prints a table.

    .venv/bin/python bench/valuation.py

Target (issue 10): seconds on a CPU for thousands of contributions. Results:
bench/RESULTS.md.
"""

import random
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from dao_service.earnings.valuation import ContributionRecords, value_contributions

WORDS = [f"w{i}" for i in range(5_000)]


def text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))


def main() -> int:
    rng = random.Random(10)
    table = Table(title="Valuation (one core): records x sample texts")
    for column in ("contributions", "records", "sample texts", "seconds"):
        table.add_column(column, justify="right")
    for contributions, per, samples in ((1_000, 10, 200), (5_000, 2, 200), (2_000, 10, 200)):
        data = [
            ContributionRecords(
                f"c{c}",
                [text(rng) for _ in range(per)],
                np.array([[rng.getrandbits(63) for _ in range(21)] for _ in range(per)], np.int64),
                ["comment"] * per,
            )
            for c in range(contributions)
        ]
        sample = [text(rng) for _ in range(samples)]
        start = time.perf_counter()
        value_contributions(data, sample)
        elapsed = time.perf_counter() - start
        table.add_row(
            f"{contributions:,}", f"{contributions * per:,}", str(samples), f"{elapsed:.2f}"
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
