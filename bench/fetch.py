#!/usr/bin/env python
"""`data fetch` of a generated dataset of --records refined records in --parts
contributions: records/s and the fetching process's peak memory, Parquet and JSON lines.

    .venv/bin/python bench/fetch.py [--records 1000000] [--parts 40]

The service and IPFS are stand-ins in the same process (keys released as the service
releases them, ciphertexts read from files by CID), so the figures are the client's own
work: download, CID check, decrypt, SHA-256 check, schema check, write, data card.
The fetch runs in a child process so that its peak RSS (VmHWM) is its own.
Target (issue 20): <= 500 MB peak. Results: bench/RESULTS.md.
"""

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(folder: Path, records: int, parts: int) -> None:
    """Sealed refined records for RENTER: folder/keys.json and folder/<cid>.bin."""
    from datetime import date, timedelta

    import numpy as np
    import pyarrow as pa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dao_service.chain.dev_accounts import dev_account
    from dao_service.core.custody import SealingKeys
    from validators.refine import SCHEMA, to_parquet

    renter = dev_account(5)
    rng = np.random.default_rng(1)
    words = np.array(
        [
            "the",
            "data",
            "model",
            "river",
            "garden",
            "winter",
            "coffee",
            "chess",
            "music",
            "code",
            "of",
            "in",
        ]
    )
    keys = []
    per_part = records // parts
    for part in range(parts):
        n = per_part if part < parts - 1 else records - per_part * (parts - 1)
        lengths = rng.integers(8, 60, n)
        texts = [" ".join(words[rng.integers(0, len(words), k)]) for k in lengths]
        start = date(2020, 1, 1)
        table = pa.table(
            {
                "record_id": [f"{part:04d}{i:012d}" for i in range(n)],
                "contributor": pa.nulls(n, pa.string()).fill_null(f"user_{part:012x}"),
                "source": pa.nulls(n, pa.string()).fill_null("reddit"),
                "kind": np.where(rng.random(n) < 0.9, "comment", "post").tolist(),
                "community": np.array(["python", "AskReddit", "chess"])[
                    rng.integers(0, 3, n)
                ].tolist(),
                "day": [start + timedelta(days=int(d)) for d in rng.integers(0, 2000, n)],
                "language": pa.nulls(n, pa.string()).fill_null("en"),
                "text": texts,
                "quality": rng.random(n).astype(np.float32),
                "near_duplicate_cluster": rng.integers(-(2**62), 2**62, n),
                "contribution_id": pa.nulls(n, pa.string()).fill_null(f"c{part:04d}"),
            },
            schema=SCHEMA,
        )
        plaintext = to_parquet(table)
        file_key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
        ciphertext = AESGCM(file_key).encrypt(iv, plaintext, None)
        cid = "bafk" + hashlib.sha256(ciphertext).hexdigest()[:40]
        (folder / f"{cid}.bin").write_bytes(ciphertext)
        [sealed] = SealingKeys().seal(renter._key_obj.public_key.to_bytes(), [file_key])
        keys.append({
            "contribution_id": f"c{part:04d}", "cid": cid, "iv": base64.b64encode(iv).decode(),
            "sha256": "0x" + hashlib.sha256(plaintext).hexdigest(), "encrypted_key": sealed.hex(),
        })  # fmt: skip
    (folder / "keys.json").write_text(json.dumps(keys))


def fetch(folder: Path, out: Path, fmt: str) -> None:
    """The child: fetch everything in `folder` into `out`, print figures as JSON."""
    from types import SimpleNamespace

    from dao_service.chain.challenges import challenge_text
    from dao_service.chain.dev_accounts import dev_account
    from dao_service.client import fetch as fetching

    keys = json.loads((folder / "keys.json").read_text())
    access = "0x" + "ac" * 20

    class Service:
        def key_challenge(self, address: str, dataset_id: int) -> dict[str, object]:
            text = challenge_text(address, dataset_id, 31337, access, "n0nce", 2_000_000_000)
            return {"nonce": "n", "text": text, "chain_id": 31337}

        def release_keys(self, *args: object) -> dict[str, object]:
            return self.next_keys("0", int(args[-1]))  # type: ignore[arg-type]

        def next_keys(self, cursor: str, limit: int) -> dict[str, object]:
            at = int(cursor)
            more = at + limit < len(keys)
            return {"keys": keys[at : at + limit], "next_cursor": str(at + limit) if more else None}

    class Blobs:
        def cat(self, cid: str) -> bytes:
            return (folder / f"{cid}.bin").read_bytes()

        def cid_of(self, data: bytes) -> str:
            return "bafk" + hashlib.sha256(data).hexdigest()[:40]

    fetching.recorded_cids = lambda *_: {k["cid"] for k in keys}  # type: ignore[assignment]
    fetching._rental_terms = lambda *_: {"access_expires_at": None, "rentals": []}  # type: ignore[assignment]
    client = SimpleNamespace(service=Service(), chain_id=31337, access_registry_address=access)
    started = time.perf_counter()
    result = fetching.fetch_dataset(client, dev_account(5), 1, out, Blobs(), page_size=10, fmt=fmt)  # type: ignore[arg-type]
    took = time.perf_counter() - started
    peak = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    on_disk = sum(p.stat().st_size for p in (out / "data").iterdir())
    print(json.dumps({"records": result.records, "seconds": took, "peak_mb": peak,
                      "disk_mb": on_disk / 1e6}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=40)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fetch(Path(args.child[0]), Path(args.child[1]), args.child[2])
        return
    with tempfile.TemporaryDirectory(prefix="datadao-fetch-bench-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        generate(folder, args.records, args.parts)
        print(f"generated {args.records:,} records in {args.parts} parts "
              f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
        for fmt in ("parquet", "jsonl"):
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), str(folder / f"out-{fmt}"), fmt],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(child.stdout.splitlines()[-1])
            rate = figures["records"] / figures["seconds"]
            print(f"{fmt:8} {figures['records']:,} records in {figures['seconds']:.1f} s = "
                  f"{rate:,.0f} records/s; peak RSS {figures['peak_mb']:.0f} MB; "
                  f"{figures['disk_mb']:.0f} MB written")  # fmt: skip


if __name__ == "__main__":
    main()
