#!/usr/bin/env python
"""Key release latency at 50 concurrent clients, on a real local stack; prints figures.

    .venv/bin/python bench/key_release.py [--clients 50] [--rounds 20]

Each client repeats: ask a challenge, sign it (personal_sign), ask for the keys.
Target (issue 5): release p99 <= 60 ms on loopback. Results: bench/RESULTS.md.
"""

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
from eth_account.messages import encode_defunct

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import local_stack
from dao_service.chain import client as chain_client
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import load_manifest
from dao_service.sample_exports import reddit_export, reddit_spec
from tests.utils.chain import Dao
from tests.utils.participants import contribute

RENTER = dev_account(5)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--contributions", type=int, default=5)
    args = parser.parse_args()
    with local_stack() as settings:
        base = settings.service_url
        with httpx.Client(base_url=base, timeout=60) as http:
            ids = [
                contribute(
                    http, dev_account(2), reddit_export(reddit_spec(seed=i, account=f"u{i}"))
                ).json()["id"]  # type: ignore[arg-type]
                for i in range(args.contributions)
            ]
            deadline = time.monotonic() + 120
            while any(
                http.get(f"/api/contributions/{i}").json()["status"] != "minted" for i in ids
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("contributions did not mint in time")
                time.sleep(0.2)
        dao = Dao(
            chain_client.connect(settings.chain_rpc_url), load_manifest(settings.manifest_file)
        )
        dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 86_400))

        release_ms: list[float] = []
        round_ms: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        start_gate = threading.Barrier(args.clients)

        def client() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                start_gate.wait()
                for _ in range(args.rounds):
                    began = time.perf_counter()
                    challenge = http.post(
                        "/api/keys/challenge", json={"address": RENTER.address, "dataset_id": 1}
                    ).json()
                    signature = RENTER.sign_message(
                        encode_defunct(text=challenge["text"])
                    ).signature
                    body = {
                        "nonce": challenge["nonce"],
                        "dataset_id": 1,
                        "chain_id": challenge["chain_id"],
                        "signature": "0x" + bytes(signature).hex(),
                    }
                    sent = time.perf_counter()
                    reply = http.post("/api/keys/release", json=body)
                    done = time.perf_counter()
                    with lock:
                        if (
                            reply.status_code != 200
                            or len(reply.json()["keys"]) != args.contributions
                        ):
                            failures.append(reply.text[:200])
                        release_ms.append((done - sent) * 1000)
                        round_ms.append((done - began) * 1000)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began

    keys = args.contributions
    print(f"{args.clients} concurrent clients x {args.rounds} rounds, {keys} keys per release")
    for label, samples in (("release", release_ms), ("challenge+release", round_ms)):
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        print(f"{label:<19} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    print(f"throughput: {len(release_ms) / elapsed:,.0f} releases/s; failures: {len(failures)}")
    if failures:
        print("first failure:", failures[0])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
