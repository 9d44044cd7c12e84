#!/usr/bin/env python
"""Key release at 1 and at 50 concurrent clients, 5 keys per release, on a real local
stack (`datadao up`: one API process per core); prints figures beside the targets.

    .venv/bin/python bench/key_release.py [--clients 1,50] [--seconds 20]

Each client repeats a release, in both ways a renter may ask: `composed` (it writes the
signed request itself, one round trip) and `challenge` (it asks the service for the text
first, two round trips). The clients are coroutines in one process over aiohttp, signing
with coincurve (what eth-account does inside, without its per-call overhead), so that
they take as little as possible of the two cores the service runs on.
Targets (issue 9): at 50 clients >= 1,000 releases/s and release p99 <= 60 ms.
Results: bench/RESULTS.md.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import coincurve
import httpx
from eth_account.messages import _hash_eip191_message, encode_defunct

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import local_stack
from dao_service.chain import connection
from dao_service.chain.challenges import challenge_text
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import load_manifest
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.utils.chain import Dao
from tests.utils.participants import contribute

RENTER = dev_account(5)


SIGNING_KEY = coincurve.PrivateKey(bytes(RENTER.key))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sign(text: str) -> str:
    digest = _hash_eip191_message(encode_defunct(text=text))
    signature = SIGNING_KEY.sign_recoverable(digest, hasher=None)
    return "0x" + (signature[:64] + bytes([signature[64] + 27])).hex()


@dataclass
class Run:
    way: str
    clients: int
    release_ms: list[float] = field(default_factory=list)
    round_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", default="1,50", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=20, help="per client count and way")
    parser.add_argument("--contributions", type=int, default=5)
    parser.add_argument(
        "--api-workers",
        type=int,
        default=0,
        help="API processes (datadao up's default, 0: one per core). With the clients on "
        "the same cores, 1 leaves them a core of their own",
    )
    args = parser.parse_args()
    up_options = ["--api-workers", str(args.api_workers)] if args.api_workers else []
    with local_stack(*up_options) as settings:
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
        w3 = connection.connect(settings.chain_rpc_url)
        dao = Dao(w3, load_manifest(settings.manifest_file))
        dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 86_400))
        deployment = (w3.eth.chain_id, str(dao.access.address))
        runs = [
            asyncio.run(run(base, way, int(n), args.seconds, args.contributions, deployment))
            for way in ("composed", "challenge")
            for n in args.clients.split(",")
        ]
    workers = args.api_workers or os.cpu_count()
    print(f"{args.contributions} keys per release; {workers} API processes; loopback, "
          f"clients on the same {os.cpu_count()} cores")  # fmt: skip
    failed = False
    for r in runs:
        rate = len(r.release_ms) / r.elapsed
        p50, p99 = statistics.median(r.release_ms), percentile(r.release_ms, 0.99)
        r50, r99 = statistics.median(r.round_ms), percentile(r.round_ms, 0.99)
        print(f"{r.way:>9} {r.clients:>3} clients: release p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
              f" | whole round p50 {r50:6.1f} / p99 {r99:6.1f} ms | {rate:,.0f} releases/s"
              f" | failures {len(r.failures)}")  # fmt: skip
        if r.clients == 50:
            print(f"{'':>14}targets: >= 1,000 releases/s -> "
                  f"{'met' if rate >= 1000 else 'MISSED'}; p99 <= 60 ms -> "
                  f"{'met' if p99 <= 60 else 'MISSED'}")  # fmt: skip
        if r.failures:
            print("     first failure:", r.failures[0])
            failed = True
    return 1 if failed else 0


async def run(
    base: str,
    way: str,
    clients: int,
    seconds: float,
    expected_keys: int,
    deployment: tuple[int, str],
) -> Run:
    """`clients` closed-loop clients for `seconds`, releasing in `way`."""
    result = Run(way, clients)
    chain_id, access_registry = deployment
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base, connector=connector) as http:

        async def client() -> None:
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                if way == "challenge":
                    async with http.post(
                        "/api/keys/challenge", json={"address": RENTER.address, "dataset_id": 1}
                    ) as reply:
                        challenge = await reply.json()
                    nonce, expires, text = (
                        challenge["nonce"], challenge["expires_at"], challenge["text"]
                    )  # fmt: skip
                else:
                    nonce, expires = secrets.token_hex(16), int(time.time()) + 60
                    text = challenge_text(
                        RENTER.address, 1, chain_id, access_registry, nonce, expires
                    )
                body = {"address": RENTER.address, "nonce": nonce, "expires_at": expires,
                        "dataset_id": 1, "chain_id": chain_id, "signature": sign(text)}  # fmt: skip
                sent = time.perf_counter()
                async with http.post("/api/keys/release", json=body) as reply:
                    answer = await reply.json()
                    ok = reply.status == 200 and len(answer["keys"]) == expected_keys
                done = time.perf_counter()
                if not ok:
                    result.failures.append(str(answer)[:200])
                result.release_ms.append((done - sent) * 1000)
                result.round_ms.append((done - began) * 1000)

        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(client() for _ in range(clients)))
        result.elapsed = time.perf_counter() - began
    return result


if __name__ == "__main__":
    sys.exit(main())
