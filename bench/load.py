#!/usr/bin/env python
"""A bounded load run on a real local stack (`datadao up`: one API process per core and an
intake worker process): 50 contributors uploading and 50 renters releasing keys at once,
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
from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import local_stack
from bench.key_release import RENTER
from dao_service.chain import connection
from dao_service.chain.manifest import load_manifest
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.utils.chain import Dao
from tests.utils.participants import contribute, open_released, request_keys


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
            with httpx.Client(base_url=base, timeout=60) as http:
                while time.monotonic() < stop_at:
                    try:
                        reply = request_keys(http, RENTER)  # type: ignore[arg-type]
                        with lock:
                            counts["releases"] += 1
                            if reply.status_code == 200:
                                counts["keys"] += len(reply.json()["keys"])
                            else:
                                errors.append(f"release {reply.status_code}: {reply.text[:120]}")
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(f"release: {exc!r}"[:160])

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
        with httpx.Client(base_url=base, timeout=60) as http:  # the keys open what was stored
            keys = request_keys(http, RENTER).json()["keys"]
        if keys:
            from dao_service.storage.ipfs import IpfsStore

            store = IpfsStore(settings.ipfs_api_url, timeout=30)
            open_released(RENTER, keys[0], store.cat(keys[0]["cid"]))
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
