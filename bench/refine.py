#!/usr/bin/env python
"""Refinement and scrubbing against validation, on a generated Reddit export of --mb MB
of text (2% of comments carry an email, a phone number or another user's handle): CPU
seconds of `validate_export` end to end, then of refining its accepted records (schema,
language, clusters, scrubbing, Parquet); MB/s per core and the share refinement adds.

    .venv/bin/python bench/refine.py [--mb 100]

CPU time is process time (all threads), so "per core" holds however pyarrow spreads the
work. Target (issue 20): refinement adds at most 25% to validation's CPU time.
Results: bench/RESULTS.md.
"""

import argparse
import io
import random
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REGISTRY = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"
PERSONAL = [
    " write to jane.doe{n}@example.com",
    " call me at (415) 555-{n:04d}",
    " as u/someone_{n} said",
    " my ip is 203.0.113.{m}",
]


def export(megabytes: int) -> tuple[bytes, float]:
    from dao_service.stack.sample_exports import reddit_export, reddit_spec

    comments = int(megabytes * 1e6 / 330)
    spec = reddit_spec(seed=11, comments=comments, posts=comments // 20)
    rng = random.Random(3)
    for i, comment in enumerate(spec.comments):
        if rng.random() < 0.02:
            comment["body"] += rng.choice(PERSONAL).format(n=i % 10_000, m=i % 250)
    data = reddit_export(spec)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return data, sum(e.file_size for e in archive.infolist()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()

    from validators import DedupIndex, ValidationContext, validate_export
    from validators.refine import Pseudonyms, to_parquet
    from validators.scrub import Scrubber

    data, text_mb = export(args.mb)
    context = ValidationContext(wallet=WALLET, chain_id=31337, registry=REGISTRY)
    pseudonyms = Pseudonyms(b"k" * 32)
    scrubber = Scrubber(lambda handle: pseudonyms.of("reddit", handle))
    scrubber.scrub_one("warm up a@example.org")  # recognizers load once per process

    started = time.process_time()
    validation = validate_export(data, context, DedupIndex(":memory:"))
    validated = time.process_time() - started
    assert validation.report.accepted and validation.refinable is not None

    started = time.process_time()
    table = validation.refinable.table("bench", WALLET, pseudonyms, scrubber.scrub)
    tabled = time.process_time() - started
    parquet = to_parquet(table)
    refined = time.process_time() - started

    # Language detection runs inside validation (on the text it normalises anyway).
    import pyarrow as pa

    from validators.fingerprints import normalise
    from validators.refine import languages

    every = pa.chunked_array(validation.refinable.parts.texts).combine_chunks()
    normalised = normalise(every)
    started = time.process_time()
    languages(normalised)
    detected = time.process_time() - started

    texts = table.column("text").to_pylist()
    placeholders = sum(t.count("<") for t in texts)
    print(f"Reddit export: {text_mb:.1f} MB of text, {table.num_rows:,} records kept")
    print(f"validate_export   {validated:7.2f} s CPU  {text_mb / validated:6.1f} MB/s per core")
    print(f"refine (all)      {refined:7.2f} s CPU  {text_mb / refined:6.1f} MB/s per core")
    print(f"  of which table + scrub {tabled:.2f} s, Parquet (zstd) {refined - tabled:.2f} s")
    print(f"language (inside validation) {detected:.2f} s CPU")
    share = 100 * (refined + detected) / (validated - detected)
    print(f"refinement adds   {share:5.1f} % to validation's CPU time (language included)")
    print(f"Parquet {len(parquet) / 1e6:.1f} MB; placeholders and pseudonyms seen: {placeholders}")


if __name__ == "__main__":
    main()
