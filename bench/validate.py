#!/usr/bin/env python
"""Validation throughput per stage and peak memory, on the Reddit and X layouts, against
an empty dedup index and one of --indexed records; prints figures.

    .venv/bin/python bench/validate.py [--sizes 10,100] [--gigabyte] [--indexed 1000000]
                                       [--baseline-ref b4f919e]

Each export is generated, written to a temporary file and validated in a fresh child
process (so each peak RSS is that run's own, generator excluded). MB are 10^6 bytes of
export text (the unzipped files). Stages are timed on the same export, one after the
other, in the child; end to end is one `validate_export` call.
--baseline-ref runs the engine of that commit (extracted with `git archive`) on the same
file in its own process, for the speed-up measured in the same run; it needs that
engine's dependencies (datasketch) importable. Results: bench/RESULTS.md.
"""

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REGISTRY = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"


STAGES = (
    "unpack (inflate)",
    "unpack + parse + checks",
    "normalise",
    "quality features",
    "exact fingerprints (BLAKE3)",
    "near-dup sketch + band keys",
    "END TO END validate_export",
)  # MB/s of export text


def peak_rss_mb() -> float:
    """This process's own high-water mark (getrusage's ru_maxrss carries the parent's
    over fork and exec on Linux; VmHWM belongs to the process's own memory map)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(layout: str, megabytes: int, path: Path) -> float:
    """Write an export of about `megabytes` MB of text; returns its text MB."""
    from dao_service.stack.sample_exports import reddit_export, reddit_spec, x_archive, x_spec

    if layout == "reddit":
        comments = int(megabytes * 1e6 / 330)
        data = reddit_export(reddit_spec(seed=11, comments=comments, posts=comments // 20))
    else:
        data = x_archive(x_spec(seed=12, tweets=int(megabytes * 1e6 / 290)))
    path.write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(entry.file_size for entry in archive.infolist()) / 1e6


def generate_large_reddit(megabytes: int, path: Path) -> float:
    """A Reddit export written row by row straight into the zip (the test generator holds
    every row at once, too much at 1 GB); same layout, statistics and checkfile."""
    import csv
    import hashlib
    import random
    from datetime import timedelta

    from dao_service.stack.sample_exports import (
        COMMENTS_COLUMNS,
        REDDIT_EXPORT_TIME,
        REDDIT_REGISTERED,
        ZIP_TIME,
        reddit_files,
        reddit_spec,
        reddit_time,
        sentence,
    )  # fmt: skip

    rng = random.Random(13)
    small = {n: d for n, d in reddit_files(reddit_spec(comments=0, posts=0)).items()
             if n != "comments.csv"}  # fmt: skip
    digests = {n: hashlib.sha256(d).hexdigest() for n, d in small.items()}
    span = (REDDIT_EXPORT_TIME - REDDIT_REGISTERED).total_seconds()
    written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in small.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, zipfile.ZIP_DEFLATED)
        entry = zipfile.ZipInfo("comments.csv", ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        digest = hashlib.sha256()
        with archive.open(entry, "w", force_zip64=True) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            writer = csv.DictWriter(text, fieldnames=COMMENTS_COLUMNS, lineterminator="\n")
            buffer = io.StringIO()
            rows = csv.DictWriter(buffer, fieldnames=COMMENTS_COLUMNS, lineterminator="\n")
            rows.writeheader()
            i = 0
            while written < megabytes * 1e6:
                for _ in range(10_000):
                    moment = REDDIT_REGISTERED + timedelta(seconds=rng.uniform(0, span * 0.99))
                    rows.writerow({
                        "id": f"c{i:07x}", "permalink": f"https://www.reddit.com/r/t/c{i}/",
                        "date": reddit_time(moment), "ip": "0.0.0.0", "subreddit": "python",
                        "gildings": "0", "link": "https://www.reddit.com/r/t/comments/x/",
                        "parent": f"t1_p{i}", "body": sentence(rng, rng.randint(12, 40)),
                        "media": "",
                    })  # fmt: skip
                    i += 1
                chunk = buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
                digest.update(chunk)
                stream.write(chunk)
                written += len(chunk)
            del writer, text
        digests["comments.csv"] = digest.hexdigest()
        checkfile = "filename,sha256\n" + "".join(f"{n},{d}\n" for n, d in sorted(digests.items()))
        archive.writestr(zipfile.ZipInfo("checkfile.csv", ZIP_TIME), checkfile)
    return (written + sum(len(d) for d in small.values())) / 1e6


def fill_index(path: Path, records: int) -> None:
    """An index of `records` synthetic records (random keys), built once and cached."""
    import numpy as np

    from validators.dedup import DedupIndex, NewRecords
    from validators.fingerprints import BANDS, FINGERPRINT_BYTES

    rng = np.random.default_rng(3)
    index = DedupIndex(path)
    started = time.perf_counter()
    # Random keys, inserted in key order (B-tree appends): the same index as records
    # arriving one by one, built in seconds instead of an hour.
    fingerprints = rng.integers(0, 256, size=(records, FINGERPRINT_BYTES), dtype=np.uint8)
    high, low = (fingerprints[:, i : i + 8].copy().view(">u8").ravel() for i in (0, 8))
    fingerprints = fingerprints[np.lexsort((low, high))]
    keys = np.sort(rng.integers(-(2**63), 2**63 - 1, size=records * BANDS, dtype=np.int64))
    keys = keys.reshape(records, BANDS)
    for start in range(0, records, 100_000):
        index.commit(
            NewRecords(fingerprints[start : start + 100_000], keys[start : start + 100_000])
        )
    index.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    print(f"  filled an index of {records:,} records in {time.perf_counter() - started:.0f} s, "
          f"{size:,.0f} MB on disk")  # fmt: skip


def child(export: Path, text_mb: float, index_path: str) -> None:
    """Runs in its own process: stages one by one, then end to end."""
    from validators import DedupIndex, ValidationContext, fingerprints, validate_export
    from validators.pipeline import detect
    from validators.quality import features
    from validators.unpack import Archive

    data = export.read_bytes()
    figures: dict[str, float] = {}

    def timed(name: str, seconds: float) -> None:
        figures[name] = text_mb / seconds if seconds else float("inf")

    index = DedupIndex(index_path)
    started = time.perf_counter()
    index.known_band_keys(fingerprints.band_keys(fingerprints.normalise(_probe())))
    figures["index open + filter load (s)"] = time.perf_counter() - started
    context = ValidationContext(wallet=WALLET, chain_id=31337, registry=REGISTRY)
    started = time.perf_counter()
    report = validate_export(data, context, index).report
    elapsed = time.perf_counter() - started
    index.close()
    timed("END TO END validate_export", elapsed)
    figures["end to end (s)"] = elapsed
    figures["peak RSS, end to end (MB)"] = peak_rss_mb()
    figures["accepted"] = float(report.accepted)
    figures["new records"] = float(report.new_records)

    if text_mb > 500:  # the stage-by-stage run holds every batch: not at this size
        print(json.dumps(figures))
        return
    started = time.perf_counter()  # the stages one by one (holding every batch: more memory)
    archive = Archive(data)
    for name in archive.names:
        for _ in archive.chunks(name, 1 << 20):
            pass
    timed("unpack (inflate)", time.perf_counter() - started)
    started = time.perf_counter()
    archive = Archive(data)
    parsed = detect(archive).parse(archive)
    batches = list(parsed.batches)
    for check in parsed.record_checks:
        for batch in batches:
            check.observe(batch)
        check.result()
    timed("unpack + parse + checks", time.perf_counter() - started)
    started = time.perf_counter()
    normalised = [fingerprints.normalise(b.text) for b in batches]
    timed("normalise", time.perf_counter() - started)
    started = time.perf_counter()
    for batch, text in zip(batches, normalised, strict=True):
        features(batch, text)
    timed("quality features", time.perf_counter() - started)
    started = time.perf_counter()
    for text in normalised:
        fingerprints.exact_fingerprints(text)
    timed("exact fingerprints (BLAKE3)", time.perf_counter() - started)
    started = time.perf_counter()
    for text in normalised:
        fingerprints.band_keys(text)
    timed("near-dup sketch + band keys", time.perf_counter() - started)
    print(json.dumps(figures))


def _probe():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.array(["a probe record to build the index's filter"])


def run_child(export: Path, text_mb: float, index_path: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(export), str(text_mb), index_path],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_baseline(ref: str, export: Path, text_mb: float) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", ref, "validators", "dao_service/__init__.py",
             "dao_service/exceptions.py"],
            capture_output=True, check=True, cwd=ROOT,
        )  # fmt: skip
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        script = (
            "import sys, time, resource; sys.path.insert(0, sys.argv[1])\n"
            "from validators import DedupIndex, ValidationContext, validate_export\n"
            "data = open(sys.argv[2], 'rb').read()\n"
            f"ctx = ValidationContext(wallet='{WALLET}', chain_id=31337, registry='{REGISTRY}')\n"
            "t = time.perf_counter()\n"
            "r = validate_export(data, ctx, DedupIndex(':memory:')).report\n"
            "e = time.perf_counter() - t\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(e, int(hwm.split()[1]) / 1024, r.accepted)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script, tmp, str(export)], capture_output=True, text=True
        )
        if out.returncode:
            return f"baseline {ref} did not run: {out.stderr.strip().splitlines()[-1]}"
        seconds, rss, accepted = out.stdout.split()
        return (f"baseline engine {ref}: {float(seconds):.1f} s, "
                f"{text_mb / float(seconds):.2f} MB/s, peak RSS {float(rss):.0f} MB, "
                f"accepted={accepted}")  # fmt: skip


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100", help="export sizes in MB of text")
    parser.add_argument("--gigabyte", action="store_true", help="also a 1,000 MB export")
    parser.add_argument("--layouts", default="reddit,x")
    parser.add_argument("--indexed", type=int, default=1_000_000, help="0: empty index only")
    parser.add_argument("--baseline-ref", default=None, help="e.g. b4f919e (slow: ~1 MB/s)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1000] if args.gigabyte else [])
    print(f"cores: {os.cpu_count()}, one process, one core used")
    with tempfile.TemporaryDirectory() as tmp:
        indexes = {"empty index": str(Path(tmp) / "empty.sqlite3")}
        if args.indexed:
            from validators.fingerprints import SKETCH

            cached = Path(tempfile.gettempdir()) / f"datadao-bench-{SKETCH}-{args.indexed}.sqlite3"
            if not cached.exists():
                fill_index(cached, args.indexed)
            indexes[f"index of {args.indexed:,}"] = str(cached)
        for layout in args.layouts.split(","):
            for size in sizes:
                export = Path(tmp) / f"{layout}-{size}.zip"
                started = time.perf_counter()
                if size >= 1000 and layout != "reddit":
                    continue  # the X generator holds every tweet: 1 GB is Reddit only
                if size >= 1000:
                    text_mb = generate_large_reddit(size, export)
                else:
                    text_mb = generate(layout, size, export)
                print(f"\n{layout}, {text_mb:.1f} MB of text, {export.stat().st_size / 1e6:.1f} MB "
                      f"zipped (generated in {time.perf_counter() - started:.0f} s)")  # fmt: skip
                for label, index_path in indexes.items():
                    figures = run_child(export, text_mb, index_path)
                    print(f"  against the {label}:")
                    for name, value in figures.items():
                        unit = " MB/s" if name in STAGES else ""
                        print(f"    {name:32s} {value:10,.1f}{unit}")
                    if "empty" in label:
                        Path(index_path).unlink(missing_ok=True)
                if args.baseline_ref:
                    print("  " + run_baseline(args.baseline_ref, export, text_mb))
                export.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
