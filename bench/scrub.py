#!/usr/bin/env python
"""Precision and recall of validators/scrub.py per kind on a labelled set, and the speed
of `Scrubber.scrub` over whole columns; prints figures.

    .venv/bin/python bench/scrub.py [--rows 200000]

A planted span counts as found when a finding of the same kind overlaps it; a finding
counts as correct when it overlaps a planted span of its kind (bench/scrub_corpus.py
plants them among hard negatives). MB = 10^6 bytes of UTF-8 text; MB/s per core is
text bytes over this process's CPU time (one thread). Results: bench/RESULTS.md."""

import argparse
import hashlib
import hmac
import resource
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scrub_corpus import (  # noqa: E402
    KINDS,
    KNOWN_GAPS,
    labelled_set,
    realistic_column,
    x_column,
)
from validators import scrub  # noqa: E402

KEY = b"bench pseudonym key"


def pseudonym(handle: str) -> str:
    return "user_" + hmac.new(KEY, handle.encode(), hashlib.sha256).hexdigest()[:8]


def quality(scrubber: scrub.Scrubber) -> None:
    items = labelled_set()
    true = dict.fromkeys(KINDS, 0)
    found = dict.fromkeys(KINDS, 0)
    predicted = dict.fromkeys(KINDS, 0)
    correct = dict.fromkeys(KINDS, 0)
    misses: dict[str, list[str]] = {k: [] for k in KINDS}
    false: dict[str, list[str]] = {k: [] for k in KINDS}
    for item in items:
        findings = scrubber.find(item.text)
        for kind, start, end in item.spans:
            true[kind] += 1
            if any(f.kind == kind and f.start < end and start < f.end for f in findings):
                found[kind] += 1
            else:
                misses[kind].append(item.text[start:end])
        for f in findings:
            predicted[f.kind] += 1
            if any(k == f.kind and s < f.end and f.start < e for k, s, e in item.spans):
                correct[f.kind] += 1
            else:
                false[f.kind].append(item.text[f.start : f.end])
    print(f"labelled set: {len(items):,} texts, {sum(true.values()):,} planted values")
    print(f"{'kind':12} {'planted':>8} {'recall':>7} {'findings':>9} {'precision':>10}")
    for kind in KINDS:
        recall = found[kind] / true[kind] if true[kind] else float("nan")
        precision = correct[kind] / predicted[kind] if predicted[kind] else float("nan")
        print(f"{kind:12} {true[kind]:8,} {recall:7.3f} {predicted[kind]:9,} {precision:10.3f}")
    gaps = [(k, v) for k, v in KNOWN_GAPS if not any(f.kind == k for f in scrubber.find(v))]
    print(f"known gaps (not in the set above): {len(gaps)} of {len(KNOWN_GAPS)} missed: {gaps}")
    for kind in KINDS:
        if misses[kind]:
            print(f"  missed {kind} ({len(misses[kind])}), e.g. {misses[kind][:6]}")
        if false[kind]:
            print(f"  false {kind} ({len(false[kind])}), e.g. {false[kind][:6]}")


def speed(scrubber: scrub.Scrubber, name: str, texts: list[str], repeat: int = 3) -> None:
    column = pa.array(texts, pa.large_string())
    size = pc.sum(pc.binary_length(column)).as_py()
    candidates = pc.sum(pc.match_substring_regex(column, scrub._SIGNAL)).as_py()
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = scrubber.scrub(column, own_handles=["john_smith1"], own_pseudonym="user_me")
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    changed = pc.sum(pc.not_equal(out, column)).as_py()
    wall, cpu = time.perf_counter(), time.process_time()
    pc.match_substring_regex(column, scrub._SIGNAL)
    filter_cpu = time.process_time() - cpu
    mb = size / 1e6
    print(
        f"{name:34} {len(texts):>8,} texts {mb:6.1f} MB  candidates {candidates / len(texts):6.1%}"
        f"  changed {changed / len(texts):6.1%}  {mb / best_cpu:6.1f} MB/s per core"
        f" ({mb / best_wall:.1f} wall)  pre-filter alone {mb / filter_cpu:.0f} MB/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the speed columns")
    args = parser.parse_args()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    scrubber = scrub.Scrubber(pseudonym)
    built = time.perf_counter() - started
    started = time.perf_counter()
    scrub.preload()
    loaded = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    print(f"Scrubber(): {built * 1e6:.0f} us; recognisers on first need: {loaded:.2f} s", end="")
    print(f", +{grown:.0f} MB RSS")
    quality(scrubber)
    print()
    speed(scrubber, "(a) comments, 2% personal data", realistic_column(args.rows))
    speed(scrubber, "(b) the labelled set", [i.text for i in labelled_set()])
    speed(scrubber, "(c) tweets, 40% with @handles", x_column(args.rows))
    speed(scrubber, "(d) comments, no personal data", realistic_column(args.rows, personal_share=0))


if __name__ == "__main__":
    main()
