#!/usr/bin/env python
"""A bounded load run on a real local stack (`datadao up`: one API process per core, an
intake worker process, two co-validator nodes and three custody nodes): 50 contributors
uploading and 50 renters releasing keys through the custody nodes at once,
for a fixed time. Prints requests, rates and errors beside the target (issue 9: 0 errors).

    .venv/bin/python bench/load.py [--contributors 50] [--renters 50] [--seconds 60]

Every contributor is its own wallet; all come from one address, and each uploads as fast
as the service answers, so the per-address and per-wallet upload limits are raised for
the run. Results: bench/RESULTS.md.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import local_stack
from bench.key_release import RENTER
from dao_service.chain import connection
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.manifest import load_manifest
from dao_service.client.custody import CombinedKey, CustodyClient
from dao_service.exceptions import DataDaoError
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.utils.chain import Dao
from tests.utils.participants import contribute


def release_all(nodes: CustodyNodeSet, dao: Dao) -> list[CombinedKey]:
    """Every key of dataset 1 through the custody nodes, as `datadao data fetch` asks."""
    client = CustodyClient(nodes)
    signed = client.signed_request(RENTER, 1, dao.chain_id, dao.access.address)
    return [key for page in client.release(RENTER, signed, 1000) for key in page.keys]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--contributors", type=int, default=50)
    parser.add_argument("--renters", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    os.environ["DATADAO_UPLOADS_PER_CLIENT_PER_MINUTE"] = "100000"  # one address for all
    os.environ["DATADAO_NONCES_PER_CLIENT_PER_MINUTE"] = "100000"
    # each contributor here uploads in a minute more than a person does in an hour
    os.environ["DATADAO_UPLOADS_PER_WALLET_PER_HOUR"] = "100000"
    counts = {"uploads": 0, "accepted": 0, "releases": 0, "keys": 0}
    errors: list[str] = []
    lock = threading.Lock()
    with local_stack() as settings:
        base = settings.service_url
        dao = Dao(connection.connect(settings.chain_rpc_url), load_manifest(settings.manifest_file))
        dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 86_400))
        nodes = dao.current_node_set()
        assert nodes is not None, "the local stack runs custody nodes"
        stop_at = time.monotonic() + args.seconds

        def contributor(n: int) -> None:
            wallet = Account.create()
            with httpx.Client(base_url=base, timeout=120) as http:
                i = 0
                while time.monotonic() < stop_at:
                    spec = reddit_spec(seed=n * 10_000 + i, comments=40, account=f"l{n}_{i}")
                    i += 1
                    try:
                        reply = contribute(http, wallet, reddit_export(spec))  # type: ignore[arg-type]
                        ok = reply.status_code == 200
                        with lock:
                            counts["uploads"] += 1
                            counts["accepted"] += ok and reply.json()["accepted"]
                            if not ok:
                                errors.append(f"upload {reply.status_code}: {reply.text[:120]}")
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(f"upload: {exc!r}"[:160])

        def renter() -> None:
            while time.monotonic() < stop_at:
                try:
                    keys = release_all(nodes, dao)
                    with lock:
                        counts["releases"] += 1
                        counts["keys"] += len(keys)
                except DataDaoError as exc:  # a node refused, or fewer than M answered
                    with lock:
                        errors.append(f"release: {exc.user_message}"[:160])

        threads = [
            threading.Thread(target=contributor, args=(n,)) for n in range(args.contributors)
        ]
        threads += [threading.Thread(target=renter) for _ in range(args.renters)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        keys = release_all(nodes, dao)  # the keys open what was stored
        if keys:
            from dao_service.storage.ipfs import IpfsStore

            store = IpfsStore(settings.ipfs_api_url, timeout=30)
            AESGCM(keys[0].file_key).decrypt(keys[0].iv, store.cat(keys[0].cid), None)
            store.close()

    print(f"{args.contributors} contributors + {args.renters} renters for {elapsed:.0f} s "
          "(the machine is shared with other sessions)")  # fmt: skip
    print(f"uploads {counts['uploads']} ({counts['accepted']} accepted, "
          f"{60 * counts['uploads'] / elapsed:.0f}/min); releases {counts['releases']} "
          f"({counts['releases'] / elapsed:.0f}/s, {counts['keys']:,} keys)")  # fmt: skip
    print(f"errors: {len(errors)} (target 0) -> {'met' if not errors else 'MISSED'}")
    for error in errors[:5]:
        print("  ", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
