#!/usr/bin/env python
"""Command-line latency, as a user waits for it, on a real local stack; prints figures.

    .venv/bin/python bench/cli.py [--proposals 50] [--runs 5]

Targets (issue 23), on an idle machine: `datadao --help` <= 0.25 s; `datadao balance`
(an account with rental income) and `datadao proposals` (50 proposals on the chain)
<= 0.5 s; `datadao vote` <= 1.0 s including the mined receipt on anvil. Each figure is
the median of --runs runs of the real console script in a fresh process, printed beside
its ratio to `python -c pass` measured in the same run (what the interpreter alone costs
on this machine at this moment). Results: bench/RESULTS.md.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import local_stack
from dao_service.chain.dev_accounts import dev_account
from dao_service.cli.demo import publish_samples
from dao_service.cli.options import build_client
from dao_service.client.contribute import contribute
from dao_service.client.devchain import advance
from dao_service.client.governance import Support, execute, queue, vote
from dao_service.client.rentals import request_rental
from dao_service.stack.sample_exports import reddit_export, reddit_spec

DATADAO = str(Path(sys.executable).with_name("datadao"))


def timed(args: list[str], runs: int, program: list[str] | None = None) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run([*(program or [DATADAO]), *args], capture_output=True, text=True)
        samples.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr}")
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--proposals", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    baseline = timed(["-c", "pass"], args.runs, [sys.executable])
    rows = [
        ("python -c pass", baseline, None),
        ("datadao --help", timed(["--help"], args.runs), 0.25),
    ]
    with local_stack() as settings:
        data = ["--data-dir", str(settings.data_dir)]
        client = build_client(data_dir=settings.data_dir)
        export = settings.data_dir / "bench-export.zip"
        export.write_bytes(reddit_export(reddit_spec(seed=99, account="bench_voter")))
        publish_samples(client, [export])  # its items on the platform stand-in
        receipt = contribute(client.service, dev_account(2), export)
        if receipt["status"] != "minted":
            raise SystemExit(f"the bench export was not minted: {receipt['rejection_reasons']}")
        renter = dev_account(5)
        # Income to show: a first rental passes, is executed and paid by score.
        first = request_rental(client, renter, 1, 86_400, 10**15, "bench rental 0").proposal_id
        parameters = client.manifest.parameters
        advance(client, seconds=int(parameters["voting_delay_seconds"]) + 1)
        vote(client, dev_account(2), first, Support.for_)
        advance(client, seconds=int(parameters["voting_period_seconds"]) + 1)
        queue(client, dev_account(2), first)
        advance(client, seconds=int(parameters["timelock_delay_seconds"]) + 1)
        execute(client, dev_account(2), first)
        rows.append(
            ("datadao balance (with rental income)",
             timed(["balance", "--account", "test2", *data], args.runs), 0.5)
        )  # fmt: skip
        ids = [
            request_rental(client, renter, 1, 86_400, 10**15, f"bench rental {i}").proposal_id
            for i in range(1, args.proposals)
        ]
        advance(client, seconds=int(parameters["voting_delay_seconds"]) + 1)
        rows.append(
            (f"datadao proposals ({args.proposals} on chain)",
             timed(["proposals", *data], args.runs), 0.5)
        )  # fmt: skip
        samples = []
        for proposal_id in ids[-args.runs :]:  # the oldest closed while the rest were made
            started = time.perf_counter()
            subprocess.run(
                [DATADAO, "vote", str(proposal_id), "for", "--account", "test2", *data],
                check=True, capture_output=True,
            )  # fmt: skip
            samples.append(time.perf_counter() - started)
        rows.append(("datadao vote (with mined receipt)", statistics.median(samples), 1.0))

    print(f"{'command':<44} {'median s':>9} {'x pass':>7} {'target s':>9}")
    for what, seconds, target in rows:
        shown = (
            "" if target is None else f"{target:>9.2f}  {'met' if seconds <= target else 'MISSED'}"
        )
        print(f"{what:<44} {seconds:>9.3f} {seconds / baseline:>7.1f} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
