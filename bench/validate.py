#!/usr/bin/env python
"""Validation throughput and dedup-index lookup rate; prints figures.

    .venv/bin/python bench/validate.py [--megabytes 100] [--indexed 1000000]

1. Generates a Reddit export of about --megabytes MB (real layout) and times validate +
   score against an empty index, per stage, with peak memory (max RSS).
2. Fills a dedup index with --indexed synthetic records, then times lookups of records
   as the validator does them (exact fingerprints in batches, band keys per record).
Targets (issue 4): >= 50 MB/s per core, <= 1 GB peak. Results: bench/RESULTS.md.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dao_service.sample_exports import reddit_export, reddit_spec
from validators import DedupIndex, ValidationContext, validate_export
from validators._utils.fingerprints import BANDS

WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REGISTRY = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_validate(megabytes: int) -> None:
    comments = int(megabytes * 1024 * 1024 / 330)
    started = time.perf_counter()
    data = reddit_export(reddit_spec(seed=11, comments=comments, posts=comments // 20))
    print(f"generated a {len(data) / 1e6:.1f} MB Reddit export ({comments:,} comments) "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    context = ValidationContext(wallet=WALLET, chain_id=31337, registry=REGISTRY)
    with tempfile.TemporaryDirectory() as tmp:
        index = DedupIndex(Path(tmp) / "index.sqlite3")
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        report = validate_export(data, context, index).report
        profile.disable()
        elapsed = time.perf_counter() - started
        index.close()
    size_mb = len(data) / 1e6
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        csv_mb = sum(entry.file_size for entry in archive.infolist()) / 1e6
    print(f"validate + score: {elapsed:.1f} s, {size_mb / elapsed:.2f} MB/s of zip, "
          f"{csv_mb / elapsed:.2f} MB/s of CSV text")  # fmt: skip
    print(f"accepted={report.accepted}, {report.new_records:,} new records, score {report.score:,}")
    print(f"peak memory (max RSS of this process): {peak_rss_mb():.0f} MB")
    print("where time goes (top functions by own time):")
    pstats.Stats(profile).sort_stats("tottime").print_stats(8)


def bench_index(indexed: int, lookups: int = 20_000) -> None:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        index = DedupIndex(Path(tmp) / "index.sqlite3")
        started = time.perf_counter()
        batch = 10_000
        from validators.dedup import RecordKeys

        for start in range(0, indexed, batch):
            index.commit(
                RecordKeys(rng.randbytes(32), [rng.getrandbits(63) for _ in range(BANDS)])
                for _ in range(min(batch, indexed - start))
            )
        fill = time.perf_counter() - started
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
        rate = indexed / fill
        print(
            f"\nindexed {indexed:,} records in {fill:.0f} s ({rate:,.0f}/s), {size:,.0f} MB on disk"
        )
        probes = [
            (rng.randbytes(32), [rng.getrandbits(63) for _ in range(BANDS)]) for _ in range(lookups)
        ]
        started = time.perf_counter()
        for i in range(0, lookups, 500):
            index.known_fingerprints(p[0] for p in probes[i : i + 500])
        exact = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, lookups, 500):  # as the validator does: one query per 500 records
            index.known_band_keys(key for _, keys in probes[i : i + 500] for key in keys)
        bands = time.perf_counter() - started
        index.close()
    print(f"exact-fingerprint lookups: {lookups / exact:,.0f} records/s (batches of 500)")
    print(f"LSH band lookups: {lookups / bands:,.0f} records/s ({BANDS} keys each, batches of 500)")
    print(f"peak memory (max RSS): {peak_rss_mb():.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=100, help="0 skips the validation run")
    parser.add_argument("--indexed", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, one process, one core used")
    if args.megabytes:
        bench_validate(args.megabytes)
    bench_index(args.indexed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
