#!/usr/bin/env python
"""Precision and recall of the natural-text signal on a labelled set (natural prose and
comments vs four kinds of word salad vs templated spam; tests/utils/labelled_text.py),
per record, and what the whole quality stage makes of each class; prints figures.

    .venv/bin/python bench/natural_text.py

"Flagged": the record reads as word salad (validators.naturalness). "Earns in full":
validated as one generic export per class against an empty index, the record is new
and keeps a quality of at least 0.7 (salad counts 0.1; templated spam mostly falls to
the near-duplicate and repeated-text rules instead). Positive = not natural.
Results: bench/RESULTS.md."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.utils.labelled_text import labelled_set  # noqa: E402
from validators import DedupIndex, ValidationContext, validate_export  # noqa: E402
from validators.fingerprints import normalise  # noqa: E402
from validators.naturalness import unnatural  # noqa: E402

WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REGISTRY = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"


def flagged(texts: list[str]) -> np.ndarray:
    normalised = normalise(pa.array(texts, pa.large_string()))
    words = np.array([len(t.split()) for t in normalised.to_pylist()], np.int32)
    return unnatural(normalised, words)


def earning(texts: list[str]) -> tuple[int, float]:
    """(records that earn in full: new and not counted at a tenth; the quality line)."""
    export = json.dumps([{"id": str(i), "text": t} for i, t in enumerate(texts)]).encode()
    context = ValidationContext(wallet=WALLET, chain_id=31337, registry=REGISTRY)
    report = validate_export(export, context, DedupIndex(":memory:")).report
    new_salad = min(report.unnatural_records, report.new_records)
    return report.new_records - new_salad, report.quality


def main() -> None:
    started = time.perf_counter()
    classes = labelled_set()
    print(f"{'class':30} {'records':>7} {'flagged':>8} {'earn in full':>13} {'mean quality':>13}")
    tp = fp = fn = 0
    tp_all = fp_all = fn_all = 0
    for name, texts in classes.items():
        marks = flagged(texts)
        full, quality = earning(texts)
        positive = name != "natural"
        if positive:
            tp, fn = tp + int(marks.sum()), fn + int((~marks).sum())
            tp_all, fn_all = tp_all + len(texts) - full, fn_all + full
        else:
            fp += int(marks.sum())
            fp_all += len(texts) - full
        share = full / len(texts)
        print(f"{name:30} {len(texts):7} {marks.mean():8.1%} {share:13.1%} {quality:13.3f}")
    print(f"\nsignal alone:  precision {tp / (tp + fp):.3f}  recall {tp / (tp + fn):.3f}")
    print(
        f"quality stage: precision {tp_all / (tp_all + fp_all):.3f}  "
        f"recall {tp_all / (tp_all + fn_all):.3f}  (positive: does not earn in full)"
    )
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
