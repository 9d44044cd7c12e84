#!/usr/bin/env python
"""Gas used by the DAO's transactions on a fresh anvil; prints a table.

    .venv/bin/python bench/gas.py

Targets (issue 8): one transaction per contribution, <= 185k gas first-time,
<= 120k repeat (also the first after a revenue deposit), <= 80k per new contributor in a
batch of 100. Results and what dominates them: bench/RESULTS.md. The local profile (no
maturity, no challenge delay) for the main rows; a second deployment with both measures
the custody path (mint into custody, release) and a root that waits before claims.
"""

import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

from eth_utils import keccak
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.logs import DISCARD

from dao_service.chain import connection
from dao_service.chain.attestations import Attestation, sign_attestation
from dao_service.chain.compiler import compile_project
from dao_service.chain.custody_set import CustodyNode, as_arguments
from dao_service.chain.dev_accounts import DEPLOYER_INDEX, VALIDATOR_INDEX, dev_account
from dao_service.chain.earnings_roots import EarningsRoot, sign_earnings_root
from dao_service.chain.merkle import EarningsTree
from dao_service.core import paths
from dao_service.core.config import Settings
from dao_service.core.shares import new_node_key, node_public_key
from dao_service.stack import chain_node

ROOT = paths.PROJECT_ROOT
ETH = 10**18


def load_deploy() -> Any:
    spec = importlib.util.spec_from_file_location("deploy", ROOT / "scripts" / "deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Bench:
    def __init__(self, w3: Web3, manifest: Any) -> None:
        self.w3, self.manifest = w3, manifest
        self.validator = dev_account(VALIDATOR_INDEX)
        self.relayer = dev_account(8)
        self.registry = connection.contract(w3, manifest, "ContributionRegistry")
        self.nonce = 0

    def attestation(
        self, contributor: str, score: int = 100
    ) -> tuple[tuple[Any, ...], list[bytes]]:
        self.nonce += 1
        a = Attestation(
            contributor=contributor,
            account=keccak(text=f"reddit:{contributor}"),
            dataset_id=1,
            fingerprint=keccak(text=f"bench-{self.nonce}"),
            cid="bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
            score=score,
            deadline=2**40,
            nonce=self.nonce,
        )
        sig = sign_attestation(self.validator, a, self.manifest.chain_id, self.registry.address)
        return a.as_tuple(), [sig]

    def gas(self, fn: Any, sender: Any = None, value: int = 0) -> int:
        """Gas of `fn` sent in a second of its own: the token's checkpoints are per second,
        and one of a second already checkpointed is updated in place (cheaper)."""
        self.w3.provider.make_request("evm_increaseTime", [1])  # type: ignore[arg-type]
        sender = sender or self.relayer
        tx = fn.build_transaction({"from": sender.address, "value": value})
        del tx["gas"]
        return int(connection.send(self.w3, sender, tx)["gasUsed"])


def wait(w3: Web3, seconds: int) -> None:
    """Move the chain's clock (the Governor counts seconds) and mine a block."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("anvil_mine", ["0x1"])  # type: ignore[arg-type]


def fresh_address(i: int) -> str:
    return Web3.to_checksum_address(keccak(text=f"contributor-{i}")[:20])


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), chain_port=18545 + 37)
        anvil = chain_node.anvil_process(settings)
        anvil.start()
        try:
            anvil.wait_ready(
                lambda: chain_node.chain_answers(settings.chain_rpc_url) is not None, 30
            )
            rows = measure(connection.connect(settings.chain_rpc_url))
        finally:
            anvil.stop()
    table = Table(title="Gas per transaction (anvil, solc 0.8.28, optimizer 200 runs)")
    for column in ("operation", "gas", "target"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    for operation, gas, target in rows:
        table.add_row(operation, f"{gas:,}", target)
    Console().print(table)
    return 0


def measure(w3: Web3) -> list[tuple[str, int, str]]:
    deploy = load_deploy()
    validators = [dev_account(VALIDATOR_INDEX).address]
    # One validator signature per attestation, as RESULTS.md reports the figures.
    params = deploy.profile_parameters(
        "local", w3.eth.chain_id, validators, None, required_signatures=1
    )
    compiled = compile_project(ROOT / ".build" / "bench-cache")
    manifest = deploy.deploy_all(
        w3, dev_account(DEPLOYER_INDEX), compiled, params, validators, log=lambda *_: None
    )
    b = Bench(w3, manifest)
    delay, period = params["voting_delay_seconds"], params["voting_period_seconds"]
    rows: list[tuple[str, int, str]] = []
    contribute = b.registry.functions.contribute
    batch = b.registry.functions.contributeBatch

    voter, other = dev_account(2), dev_account(3)
    first_ever = b.gas(contribute(*b.attestation(other.address)))
    rows.append(("contribute, very first on a fresh deployment", first_ever, ""))
    first_time = b.gas(contribute(*b.attestation(voter.address)))
    rows.append(("contribute, first-time contributor", first_time, "<= 185,000"))
    repeat = b.gas(contribute(*b.attestation(voter.address)))
    rows.append(("contribute, repeat contributor", repeat, "<= 120,000"))
    pool = connection.contract(w3, manifest, "RevenuePool")
    b.gas(pool.functions.deposit(1), other, value=ETH)
    after_deposit = b.gas(contribute(*b.attestation(voter.address)))
    rows.append(("contribute, repeat, first after a revenue deposit", after_deposit, "<= 120,000"))

    counter = 0
    for size in (1, 10, 100):
        for label, repeat in (("new", False), ("repeat", True)):
            items = []
            for _ in range(size):
                counter += 1
                who = voter.address if repeat else fresh_address(counter)
                items.append(b.attestation(who))
            gas = b.gas(batch([i[0] for i in items], [i[1] for i in items]))
            target = "<= 80,000" if size == 100 and not repeat else ""
            rows.append((f"batch of {size}, {label} contributors, per item", gas // size, target))

    escrow = connection.contract(w3, manifest, "RentalEscrow")
    governor = connection.contract(w3, manifest, "DataGovernor")
    renter = dev_account(5)
    tx = escrow.functions.requestRental(1, 3600, "bench rental").build_transaction(
        {"from": renter.address, "value": ETH}
    )
    del tx["gas"]
    receipt = connection.send(w3, renter, tx)
    rows.append(("propose (requestRental + escrow)", int(receipt["gasUsed"]), ""))
    event = escrow.events.RentalRequested().process_receipt(receipt, errors=DISCARD)[0]["args"]
    rental_id, proposal_id = event["rentalId"], event["proposalId"]
    wait(w3, delay + 1)
    rows.append(("vote", b.gas(governor.functions.castVote(proposal_id, 1), voter), ""))
    b.gas(governor.functions.castVote(proposal_id, 1), other)
    wait(w3, period + 1)
    targets, values, calldatas = escrow.functions.proposalActions(rental_id).call()
    description_hash = keccak(
        text=escrow.functions.proposalDescription(rental_id, "bench rental").call()
    )
    call = (targets, values, calldatas, description_hash)
    rows.append(("queue", b.gas(governor.functions.queue(*call)), ""))
    wait(w3, params["timelock_delay_seconds"] + 1)
    rows.append(
        (
            "execute (approve: grant access + pay the dataset)",
            b.gas(governor.functions.execute(*call)),
            "",
        )
    )
    rows.append(("claim", b.gas(pool.functions.claim(1), voter), ""))

    tx = escrow.functions.requestRental(1, 3600, "refunded").build_transaction(
        {"from": renter.address, "value": ETH}
    )
    del tx["gas"]
    refund_receipt = connection.send(w3, renter, tx)
    refund_id = escrow.events.RentalRequested().process_receipt(refund_receipt, errors=DISCARD)[0][
        "args"
    ]["rentalId"]
    wait(w3, delay + period + 2)
    rows.append(("refund (defeated rental)", b.gas(escrow.functions.refund(refund_id), renter), ""))
    rows.extend(measure_valued(b, pool, escrow, governor, renter, [voter, other], params))
    rows.extend(measure_node_sets(w3, manifest))
    custody = {**params, "maturity_seconds": 900, "challenge_delay_seconds": 900}
    manifest = deploy.deploy_all(
        w3, dev_account(DEPLOYER_INDEX), compiled, custody, validators, log=lambda *_: None
    )
    rows.extend(measure_custody(Bench(w3, manifest), voter, other))
    return rows


def measure_node_sets(w3: Web3, manifest: Any) -> list[tuple[str, int, str]]:
    """A new custody node set, as the timelock sets it when a vote passes (the call
    itself, sent from the timelock's address; the Governor's execute adds its own cost)."""
    sets = connection.contract(w3, manifest, "CustodyNodeSet")
    timelock = manifest.address_of("DataTimelock")
    w3.provider.make_request("anvil_impersonateAccount", [timelock])  # type: ignore[arg-type]
    w3.provider.make_request("anvil_setBalance", [timelock, hex(ETH)])  # type: ignore[arg-type]
    rows = []
    for count, threshold in ((3, 2), (5, 3), (10, 6)):
        nodes = as_arguments(
            [
                CustodyNode(
                    url=f"https://custody-{i}.example.org",
                    public_key=node_public_key(new_node_key()),
                )
                for i in range(count)
            ]
        )
        tx_hash = sets.functions.setNodeSet(threshold, nodes).transact({"from": timelock})
        gas = int(w3.eth.wait_for_transaction_receipt(tx_hash)["gasUsed"])
        rows.append((f"set a custody node set of {count} nodes (timelock)", gas, ""))
    return rows


def measure_custody(b: Bench, voter: Any, other: Any) -> list[tuple[str, int, str]]:
    """New tokens minted into the registry's custody and released after maturity; an
    earnings root that waits out its challenge delay (both 900 s here)."""
    rows: list[tuple[str, int, str]] = []
    contribute = b.registry.functions.contribute
    b.gas(contribute(*b.attestation(other.address)))  # the very first: fresh slots everywhere
    first = b.attestation(voter.address)
    rows.append(("contribute into custody, first-time contributor", b.gas(contribute(*first)), ""))
    repeat = b.attestation(voter.address)
    rows.append(("contribute into custody, repeat contributor", b.gas(contribute(*repeat)), ""))
    batch = [b.attestation(voter.address) for _ in range(10)]
    for attestation in batch:
        b.gas(contribute(*attestation))
    wait(b.w3, 900)
    release = b.registry.functions.release
    fingerprint = first[0][3]
    rows.append(
        ("release one matured contribution (first-time)", b.gas(release([fingerprint])), "")
    )
    rows.append(("release one matured contribution (repeat)", b.gas(release([repeat[0][3]])), ""))
    per_item = b.gas(release([a[0][3] for a in batch])) // len(batch)
    rows.append(("release a batch of 10, per item", per_item, ""))

    pool = connection.contract(b.w3, b.manifest, "RevenuePool")
    b.gas(pool.functions.depositValued(1), other, value=ETH)
    tree = EarningsTree.of({voter.address: ETH // 2, other.address: ETH // 2})
    root = EarningsRoot(dataset_id=1, epoch=1, root=tree.root, total=ETH, cid="bafkrei" + "a" * 52)
    signature = sign_earnings_root(b.validator, root, b.manifest.chain_id, pool.address)
    posted = b.gas(pool.functions.postEarningsRoot(root.as_tuple(), [signature]))
    rows.append(("post an earnings root that waits out the challenge delay", posted, ""))
    wait(b.w3, 900)
    cumulative, proof = tree.proof(voter.address)
    first_claim = b.gas(pool.functions.claimEarnings(1, cumulative, proof), voter)
    rows.append(
        ("claim valued earnings, first after the delay (accepts the root)", first_claim, "")
    )
    return rows


def measure_valued(
    b: Bench,
    pool: Any,
    escrow: Any,
    governor: Any,
    renter: Any,
    voters: list[Any],
    params: dict[str, Any],
) -> list[tuple[str, int, str]]:
    """A rental with a validation sample, its earnings roots and claims against a table of
    1,000 contributors (a proof of 10 hashes); the chain's cost does not grow with the table."""
    rows: list[tuple[str, int, str]] = []
    sample = (keccak(text="bench sample"), 4096)
    tx = escrow.functions.requestValuedRental(1, 3600, "valued", sample).build_transaction(
        {"from": renter.address, "value": ETH}
    )
    del tx["gas"]
    receipt = connection.send(b.w3, renter, tx)
    rows.append(("propose with a validation sample", int(receipt["gasUsed"]), ""))
    event = escrow.events.RentalRequested().process_receipt(receipt, errors=DISCARD)[0]["args"]
    wait(b.w3, params["voting_delay_seconds"] + 1)
    for voter in voters:
        b.gas(governor.functions.castVote(event["proposalId"], 1), voter)
    wait(b.w3, params["voting_period_seconds"] + 1)
    targets, values, calldatas = escrow.functions.proposalActions(event["rentalId"]).call()
    description = escrow.functions.proposalDescription(event["rentalId"], "valued").call()
    call = (targets, values, calldatas, keccak(text=description))
    b.gas(governor.functions.queue(*call))
    wait(b.w3, params["timelock_delay_seconds"] + 1)
    rows.append(
        (
            "execute a valued rental (pays the dataset's valued income)",
            b.gas(governor.functions.execute(*call)),
            "",
        )
    )

    claimer = voters[0]
    others = {fresh_address(10_000 + i): 10**14 for i in range(999)}
    for epoch, share in ((1, ETH // 2), (2, ETH // 2 + ETH // 4)):
        tree = EarningsTree.of({**others, claimer.address: share})
        root = EarningsRoot(
            dataset_id=1, epoch=epoch, root=tree.root, total=tree.total, cid="bafkrei" + "a" * 52
        )
        signature = sign_earnings_root(b.validator, root, b.manifest.chain_id, pool.address)
        gas = b.gas(pool.functions.postEarningsRoot(root.as_tuple(), [signature]))
        rows.append(
            (
                f"post an earnings root ({'first' if epoch == 1 else 'next'}, 1,000 accounts)",
                gas,
                "",
            )
        )
        cumulative, proof = tree.proof(claimer.address)
        gas = b.gas(pool.functions.claimEarnings(1, cumulative, proof), claimer)
        label = "first claim" if epoch == 1 else "claim again after the next root"
        rows.append((f"claim valued earnings, {label} ({len(proof)}-hash proof)", gas, ""))
    return rows


if __name__ == "__main__":
    sys.exit(main())
