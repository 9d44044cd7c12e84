#!/usr/bin/env python
"""Key release through the custody nodes at 1 and 50 concurrent clients, 5 keys per
release, on a real local stack (`datadao up`: 3 custody nodes, M = 2); the cost of each
step; and the intake's cost of splitting and sealing a file key. Prints figures beside
the targets.

    .venv/bin/python bench/custody_release.py [--clients 1,50] [--seconds 20] [--ways fetch,all]

A release is counted from composing the signed request to holding the 5 combined file
keys: the request to the nodes, their answers, each share opened and M shares combined
per key. Two ways to ask: `fetch` (the default: what `datadao data fetch` does,
`CustodyClient.release`: M nodes chosen at random, so that the load spreads over the
three, and another when one fails or refuses or a key is still short of M shares) and
`all` (every node at once, the first M answers used; for comparison). The clients are
coroutines in one process over aiohttp, on the same two cores as the nodes. Targets
(issue 24): at 50 clients >= 1,000 releases/s and p99 <= 100 ms. Results: bench/RESULTS.md.
"""

import argparse
import asyncio
import os
import random
import secrets
import statistics
import sys
import time
import timeit
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
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import load_manifest
from dao_service.client.custody import SealedOpener
from dao_service.core.custody import SealingKeys
from dao_service.core.shares import (
    Share,
    combine_key,
    new_node_key,
    node_public_key,
    open_share,
    seal_share,
    split_key,
)
from dao_service.custody.node_key import NodeKey
from dao_service.stack.running import read_stack
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
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    requests: int = 0  # node requests sent
    node_cpu: float = 0.0  # seconds of CPU the node processes used, all three
    client_cpu: float = 0.0  # seconds of CPU this process (the clients) used


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", default="1,50", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=20, help="per client count and way")
    parser.add_argument("--contributions", type=int, default=5)
    parser.add_argument(
        "--ways", default="fetch", help="fetch (what data fetch does) and/or all, comma-separated"
    )
    args = parser.parse_args()
    steps()
    with local_stack("--api-workers", "1") as settings:
        with httpx.Client(base_url=settings.service_url, timeout=60) as http:
            ids = [
                contribute(
                    http, dev_account(2), reddit_export(reddit_spec(seed=i, account=f"u{i}"))
                ).json()["id"]  # type: ignore[arg-type]
                for i in range(args.contributions)
            ]
            deadline = time.monotonic() + 180
            while any(
                (r := http.get(f"/api/contributions/{i}").json())["status"] != "minted"
                or r["key_custody"]["holding"] < 3
                for i in ids
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("contributions did not reach the nodes in time")
                time.sleep(0.2)
        manifest = load_manifest(settings.manifest_file)
        w3 = connection.connect(settings.chain_rpc_url)
        dao = Dao(w3, manifest)
        node_set = dao.current_node_set()
        assert node_set is not None, "the local stack runs custody nodes"
        dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 86_400))
        deployment = (w3.eth.chain_id, str(dao.access.address))
        stack = read_stack(settings) or {}
        nodes = [p for name, p in stack.get("pids", {}).items() if name.startswith("custody node")]
        runs = []
        for way in args.ways.split(","):
            for n in args.clients.split(","):
                cpu = node_cpu(nodes), os.times()
                r = asyncio.run(
                    run(node_set, way, int(n), args.seconds, args.contributions, deployment)
                )
                after = os.times()
                r.node_cpu = node_cpu(nodes) - cpu[0]
                r.client_cpu = after.user + after.system - cpu[1].user - cpu[1].system
                runs.append(r)
    print(f"{args.contributions} keys per release; 3 custody nodes (one process each), M = 2; "
          f"1 API process; loopback, clients on the same {os.cpu_count()} cores")  # fmt: skip
    failed = False
    for r in runs:
        rate = len(r.release_ms) / r.elapsed
        p50, p99 = statistics.median(r.release_ms), percentile(r.release_ms, 0.99)
        print(f"{r.way:>8} {r.clients:>3} clients: release (combined) p50 {p50:6.1f} ms  "
              f"p99 {p99:6.1f} ms | {rate:,.0f} releases/s | "
              f"{r.requests / max(1, len(r.release_ms)):.2f} node requests each | "
              f"failures {len(r.failures)}")  # fmt: skip
        if nodes:
            each = max(1, len(r.release_ms))
            print(f"{'':>14}CPU per release: nodes {r.node_cpu / each * 1000:.2f} ms (per node "
                  f"request {r.node_cpu / max(1, r.requests) * 1000:.2f} ms), clients "
                  f"{r.client_cpu / each * 1000:.2f} ms")  # fmt: skip
        if r.clients == 50:
            print(f"{'':>14}targets: >= 1,000 releases/s -> "
                  f"{'met' if rate >= 1000 else 'MISSED'}; p99 <= 100 ms -> "
                  f"{'met' if p99 <= 100 else 'MISSED'}")  # fmt: skip
        if r.failures:
            print("     first failure:", r.failures[0])
            failed = True
    return 1 if failed else 0


def node_cpu(pids: list[int]) -> float:
    """Seconds of CPU (user + system) the processes `pids` used so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def steps() -> None:
    """Each step's cost, in process (median of repeats, microseconds)."""
    import tempfile

    key = os.urandom(32)
    nodes = [new_node_key() for _ in range(3)]
    publics = [node_public_key(n) for n in nodes]
    shares = split_key(key, 2, 3)
    sealed = [seal_share(p, "c1", s) for p, s in zip(publics, shares, strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "node.key"
        path.write_text(nodes[0].hex())
        path.chmod(0o600)
        node = NodeKey(path)
        stored = node.store(shares[0], "c1")
        renter_public = coincurve.PrivateKey(bytes(RENTER.key)).public_key.format(False)
        sealing = SealingKeys()
        released = sealing.seal(renter_public, [shares[0].value])[0]
        opener = SealedOpener(bytes(RENTER.key))

        def measure(what: str, fn: object, number: int = 2000) -> None:
            runs = timeit.repeat(fn, number=number, repeat=5)  # type: ignore[arg-type]
            print(f"  {what:<58} {min(runs) / number * 1e6:8.1f} us")

        print("Intake, per file (the process that made the key):")
        measure("split a 32-byte key 2-of-3 (pycryptodome Shamir)", lambda: split_key(key, 2, 3))
        measure(
            "seal the 3 shares, one to each node (eciespy)",
            lambda: [seal_share(p, "c1", s) for p, s in zip(publics, shares, strict=True)],
            200,
        )
        print("A node, per deposit and per released key:")
        measure(
            "open a deposited share (ECIES)", lambda: open_share(nodes[0], sealed[0], "c1"), 200
        )
        measure(
            "read a stored share (AES-GCM under the storage key)", lambda: node.stored(stored, "c1")
        )
        measure(
            "seal a share to the renter (ECDH once a minute)",
            lambda: sealing.seal(renter_public, [shares[0].value]),
        )
        print("The renter, per key:")
        measure("open a released share (one ECDH per ephemeral key)", lambda: opener.open(released))
        measure("combine 2 shares (tables per index pair)", lambda: combine_key(shares[:2], 2))
        from Crypto.Protocol.SecretSharing import Shamir

        def library_combine() -> list[bytes]:
            return [
                Shamir.combine([(s.index, s.value[h : h + 16]) for s in shares[:2]])
                for h in (0, 16)
            ]

        measure("  (pycryptodome's own combine, both halves, for comparison)", library_combine, 200)
        measure("sign the request (coincurve, once per release)", lambda: sign("x" * 200))
        assert combine_key([Share(s.index, s.value) for s in shares[1:]], 2) == key


async def run(
    node_set: CustodyNodeSet,
    way: str,
    clients: int,
    seconds: float,
    expected_keys: int,
    deployment: tuple[int, str],
) -> Run:
    """`clients` closed-loop clients for `seconds`, each release asking the nodes in `way`."""
    result = Run(way, clients)
    chain_id, access_registry = deployment
    threshold = node_set.threshold
    urls = [f"{n.url}/api/keys/release" for n in node_set.nodes]
    opener = SealedOpener(bytes(RENTER.key))
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def ask(url: str, body: dict[str, object]) -> dict[str, object] | None:
            result.requests += 1
            async with http.post(url, json=body) as reply:
                answer = await reply.json()
            return answer if reply.status == 200 else None

        async def answers(body: dict[str, object]) -> tuple[list[dict[str, object]], list[str]]:
            """The first M answers, and the nodes not asked (in the order to ask them)."""
            asked = urls if way == "all" else random.sample(urls, threshold)
            pending = {asyncio.ensure_future(ask(u, body)) for u in asked}
            spare = [u for u in urls if u not in asked]
            random.shuffle(spare)
            got: list[dict[str, object]] = []
            while pending and len(got) < threshold:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.result() is not None:
                        got.append(task.result())  # type: ignore[arg-type]
                    elif spare:
                        pending.add(asyncio.ensure_future(ask(spare.pop(), body)))
            for task in pending:  # the slowest node's answer is not waited for
                task.cancel()
            return got, spare

        def take(page: dict[str, object], shares: dict[str, list[Share]]) -> None:
            for k in page["keys"]:  # type: ignore[attr-defined]
                value = opener.open(bytes.fromhex(k["encrypted_share"]))
                shares.setdefault(k["contribution_id"], []).append(Share(k["share_index"], value))

        async def client() -> None:
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                nonce, expires = secrets.token_hex(16), int(time.time()) + 60
                text = challenge_text(RENTER.address, 1, chain_id, access_registry, nonce, expires)
                body = {"address": RENTER.address, "nonce": nonce, "expires_at": expires,
                        "dataset_id": 1, "chain_id": chain_id, "signature": sign(text)}  # fmt: skip
                pages, spare = await answers(body)
                shares: dict[str, list[Share]] = {}
                for page in pages:
                    take(page, shares)
                # A key short of M shares (not delivered to every node yet): another node.
                while way == "fetch" and spare and any(len(s) < threshold for s in shares.values()):
                    extra = await ask(spare.pop(), body)
                    if extra is not None:
                        pages.append(extra)
                        take(extra, shares)
                keys = [combine_key(s, threshold) for s in shares.values() if len(s) >= threshold]
                done = time.perf_counter()
                if len(keys) != expected_keys:
                    result.failures.append(f"{len(keys)} keys from {len(pages)} nodes")
                result.release_ms.append((done - began) * 1000)

        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(client() for _ in range(clients)))
        result.elapsed = time.perf_counter() - began
    return result


if __name__ == "__main__":
    sys.exit(main())
