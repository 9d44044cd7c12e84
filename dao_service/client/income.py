"""What an account is owed: one source for `datadao balance`, `earnings`, `claim` and the
contributors' page (the service calls the same function).

A dataset's rental income reaches its contributors in two ways. A rental without a
validation sample (or any plain deposit) is shared by score: the RevenuePool raises the
dataset's earnings per unit of weight, and each account earns its weight at that moment
times the increase. A rental with a sample is split by measured value: the service
publishes a table on IPFS and its cumulative Merkle root goes on-chain. Both appear here
per rental, and the claimable total is what the chain would pay now: the pool's
`claimable` plus the proven cumulative amount minus what was claimed. Amounts are shown
rounded toward zero to `ETH_DECIMALS` decimals (`eth`), on every surface.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from dao_service.client.core import DaoClient
from dao_service.client.governance import ETH_DECIMALS, eth
from dao_service.client.rpc import Log
from dao_service.client.valued_earnings import DatasetEarnings, earnings

PRECISION = 10**18  # the pool's earningsPerWeight scale
BY_SCORE = "score"


@dataclass
class RentalIncome:
    """What one rental (or one plain deposit) paid the account."""

    dataset_id: int
    rental_id: int | None  # None: a deposit no rental made
    split_by: str  # "score", "measured value", or why a valued rental fell back to score
    amount_wei: int
    value: float | None = None  # the measured value that earned it (split by value only)
    table_cid: str | None = None  # the published table (split by value only)
    tx: str = ""
    claimable_at: int | None = None  # while its earnings root waits out the challenge delay


@dataclass
class DatasetIncome:
    dataset_id: int
    rentals: list[RentalIncome] = field(default_factory=list)
    by_score_claimable_wei: int = 0  # RevenuePool.claimable
    by_score_claimed_wei: int = 0
    by_value: DatasetEarnings | None = None  # the cumulative amount, its proof, the claims

    @property
    def by_value_claimable_wei(self) -> int:
        return self.by_value.claimable_wei if self.by_value else 0

    @property
    def claimable_wei(self) -> int:
        return self.by_score_claimable_wei + self.by_value_claimable_wei

    @property
    def claimed_wei(self) -> int:
        return self.by_score_claimed_wei + (self.by_value.claimed_wei if self.by_value else 0)

    @property
    def earned_wei(self) -> int:
        """Everything earned so far: claimed or still claimable."""
        return self.claimed_wei + self.claimable_wei


@dataclass
class Income:
    address: str
    datasets: list[DatasetIncome]

    @property
    def claimable_wei(self) -> int:
        return sum(d.claimable_wei for d in self.datasets)

    @property
    def rentals(self) -> list[RentalIncome]:
        return [r for d in self.datasets for r in d.rentals]

    def as_json(self) -> dict[str, Any]:
        """The shape `--json` prints and the service returns: wei as integers, and each
        total also as text, rounded as every surface rounds it."""
        return {
            "address": self.address,
            "claimable_wei": self.claimable_wei,
            "claimable": eth(self.claimable_wei),
            "rounding": f"toward zero, {ETH_DECIMALS} decimals",
            "datasets": [
                {
                    "dataset_id": d.dataset_id,
                    "earned_wei": d.earned_wei,
                    "claimed_wei": d.claimed_wei,
                    "claimable_wei": d.claimable_wei,
                    "claimable": eth(d.claimable_wei),
                    "claimable_by_score_wei": d.by_score_claimable_wei,
                    "claimable_by_value_wei": d.by_value_claimable_wei,
                    "rentals": [{**asdict(r), "amount": eth(r.amount_wei)} for r in d.rentals],
                }
                for d in self.datasets
            ],
        }


@dataclass(frozen=True)
class ClaimCall:
    """One RevenuePool call of the claim that collects everything claimable."""

    dataset_id: int
    function: str  # "claim" (by score) or "claimEarnings" (by value, with its proof)
    args: tuple[Any, ...]
    event: str  # what the pool emits with the amount paid


def claim_calls(owed: Income) -> list[ClaimCall]:
    """The calls that collect all of `owed`: per dataset, the income by score, and the
    income by value with the Merkle proof of its cumulative amount. `datadao claim` sends
    them; the contributors' page has the wallet send them."""
    calls = []
    for held in owed.datasets:
        if held.by_score_claimable_wei:
            calls.append(ClaimCall(held.dataset_id, "claim", (held.dataset_id,), "RevenueClaimed"))
        if held.by_value is not None and held.by_value_claimable_wei:
            proven = (held.dataset_id, held.by_value.cumulative_wei, held.by_value.proof)
            calls.append(ClaimCall(held.dataset_id, "claimEarnings", proven, "EarningsClaimed"))
    return calls


def _score_income(client: DaoClient, dataset_id: int, address: str) -> list[RentalIncome]:
    """Each score-split deposit's share for `address`: its weight at the deposit times the
    rise in earnings per weight the deposit made (rounded down, as the pool rounds)."""
    pool = client.pool
    deposits = pool.logs("RevenueDeposited", client.deployed_at, datasetId=dataset_id)
    if not deposits:
        return []
    changes = pool.logs("WeightChanged", client.deployed_at, datasetId=dataset_id, account=address)
    approved = {
        log.tx_hash: int(log.args["rentalId"])
        for log in client.escrow.logs("RentalApproved", client.deployed_at)
    }

    def order(log: Log) -> tuple[int, int]:
        return log.block_number, log.log_index

    found, before, weight = [], 0, 0
    pending = sorted(changes, key=order)
    for deposit in sorted(deposits, key=order):
        while pending and order(pending[0]) < order(deposit):
            weight = int(pending.pop(0).args["weight"])
        after = int(deposit.args["earningsPerWeight"])
        share = weight * (after - before) // PRECISION
        before = after
        if share:
            found.append(
                RentalIncome(
                    dataset_id=dataset_id,
                    rental_id=approved.get(deposit.tx_hash),
                    split_by=BY_SCORE,
                    amount_wei=share,
                    tx=deposit.tx_hash,
                )
            )
    return found


def income(client: DaoClient, address: str) -> Income:
    """Everything `address` earned and may claim, per dataset and per rental."""
    from dao_service.client.holdings import datasets_of

    valued = {e.dataset_id: e for e in earnings(client, address)}
    datasets = sorted(set(datasets_of(client, address)) | set(valued))
    pool = client.pool
    raw = client.rpc.batch([pool.call_request("claimable", d, address) for d in datasets])
    claimed: dict[int, int] = {}
    for log in pool.logs("RevenueClaimed", client.deployed_at, account=address):
        dataset = int(log.args["datasetId"])
        claimed[dataset] = claimed.get(dataset, 0) + int(log.args["amount"])
    found = []
    for dataset, claimable in zip(datasets, raw, strict=True):
        by_value = valued.get(dataset)
        rentals = _score_income(client, dataset, address) + [
            RentalIncome(
                dataset_id=dataset,
                rental_id=r.rental_id,
                split_by=r.split_by,
                amount_wei=r.amount_wei,
                value=r.value,
                table_cid=r.table_cid,
                claimable_at=r.claimable_at,
            )
            for r in (by_value.rentals if by_value else [])
        ]
        rentals.sort(key=lambda r: (r.rental_id is None, r.rental_id or 0))
        found.append(
            DatasetIncome(
                dataset_id=dataset,
                rentals=rentals,
                by_score_claimable_wei=pool.functions["claimable"].decode_output(claimable),
                by_score_claimed_wei=claimed.get(dataset, 0),
                by_value=by_value,
            )
        )
    return Income(address, found)
