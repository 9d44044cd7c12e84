#!/usr/bin/env python
"""Near-duplicate precision and recall on the labelled set (tests/utils/near_dups.py);
prints figures overall and per kind of edit.

    .venv/bin/python bench/near_dup.py [--pairs 60000]

A pair is flagged when the two texts share an LSH band key, as the validator decides.
Results: bench/RESULTS.md.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyarrow as pa

from tests.utils.near_dups import labelled_pairs
from validators.fingerprints import band_keys, normalise


def flagged(first: list[str], second: list[str]) -> list[bool]:
    a = band_keys(normalise(pa.array(first, pa.string())))
    b = band_keys(normalise(pa.array(second, pa.string())))
    return [bool(np.intersect1d(x, y).size) for x, y in zip(a, b, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=60_000)
    args = parser.parse_args()
    pairs = labelled_pairs(args.pairs)
    hits = flagged([p.first for p in pairs], [p.second for p in pairs])
    per_kind: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    tp = fp = fn = 0
    for pair, hit in zip(pairs, hits, strict=True):
        totals[pair.kind] += 1
        per_kind[pair.kind] += hit
        tp += hit and pair.duplicate
        fp += hit and not pair.duplicate
        fn += pair.duplicate and not hit
    print(f"{len(pairs)} labelled pairs")
    print(f"precision {tp / max(tp + fp, 1):.4f}  recall {tp / max(tp + fn, 1):.4f}  "
          f"({tp} true, {fp} false positives, {fn} missed)")  # fmt: skip
    for kind in sorted(totals):
        print(f"  {kind:18s} flagged {per_kind[kind]:5d} of {totals[kind]:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
