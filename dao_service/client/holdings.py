"""What an account holds and did: tokens, votes, delegate, income; delegation, claims and
the on-chain events that concern it."""

from dataclasses import dataclass
from typing import Any

from dao_service.client.core import DaoClient
from dao_service.client.governance import Refused, eth, short, tokens
from dao_service.client.rpc import Log


@dataclass
class Balance:
    address: str
    tokens: int
    votes: int
    delegate: str
    claimable_wei: dict[int, int]  # per dataset the account contributed to
    eth_wei: int


def datasets_of(client: DaoClient, address: str | None = None) -> list[int]:
    """The datasets `address` (default: anyone) ever contributed to; income is accounted
    per dataset, and only a dataset with contributions can be rented."""
    filters = {"contributor": address} if address else {}
    logs = client.registry.logs("ContributionRecorded", client.deployed_at, **filters)
    return sorted({log.args["datasetId"] for log in logs})


def balance(client: DaoClient, address: str) -> Balance:
    token, pool = client.token, client.pool
    datasets = datasets_of(client, address)
    raw = client.rpc.batch(
        [
            token.call_request("balanceOf", address),
            token.call_request("getVotes", address),
            token.call_request("delegates", address),
            ("eth_getBalance", [address, "latest"]),
            *(pool.call_request("claimable", d, address) for d in datasets),
        ]
    )
    return Balance(
        address=address,
        tokens=token.functions["balanceOf"].decode_output(raw[0]),
        votes=token.functions["getVotes"].decode_output(raw[1]),
        delegate=token.functions["delegates"].decode_output(raw[2]),
        claimable_wei={
            d: pool.functions["claimable"].decode_output(r)
            for d, r in zip(datasets, raw[4:], strict=True)
        },
        eth_wei=int(raw[3], 16),
    )


def delegate(client: DaoClient, account: Any, to: str) -> dict[str, Any]:
    if int(to, 16) == 0:
        raise Refused(
            "delegate to an address, not to zero (to vote yourself, delegate to yourself)"
        )
    return client.transact(account, client.token, "delegate", to)


def claim(client: DaoClient, account: Any, dataset_id: int | None = None) -> dict[int, int]:
    """Pay `account` its rental income of `dataset_id` (default: of every dataset it
    contributed to): income split by score, and income split by measured value (with its
    Merkle proof); returns the wei paid per dataset."""
    from dao_service.client.earnings import claim_earnings

    datasets = [dataset_id] if dataset_id is not None else datasets_of(client, account.address)
    owed = {d: client.pool.call("claimable", d, account.address) for d in datasets}
    paid: dict[int, int] = {}
    for dataset, amount in owed.items():
        if amount:
            receipt = client.transact(account, client.pool, "claim", dataset)
            (event,) = client.events_in(receipt, client.pool, "RevenueClaimed")
            paid[dataset] = int(event["amount"])
    for dataset, amount in claim_earnings(client, account, dataset_id).items():
        paid[dataset] = paid.get(dataset, 0) + amount
    if not paid:
        where = f"dataset {dataset_id}" if dataset_id is not None else "any dataset"
        raise Refused(f"{account.address} has no rental income to claim from {where}")
    return paid


# (contract, event, the indexed argument naming the account)
HISTORY_EVENTS = [
    ("ContributionRegistry", "ContributionRecorded", "contributor"),
    ("ContributionRegistry", "ContributionWithdrawn", "contributor"),
    ("ContributionRegistry", "ContributionVoided", "contributor"),
    ("DataToken", "Transfer", "from"),
    ("DataToken", "Transfer", "to"),
    ("DataToken", "DelegateChanged", "delegator"),
    ("RentalEscrow", "RentalRequested", "renter"),
    ("RentalEscrow", "RentalRefunded", "renter"),
    ("RevenuePool", "RevenueClaimed", "account"),
    ("RevenuePool", "EarningsClaimed", "account"),
    ("AccessRegistry", "AccessGranted", "grantee"),
    ("DataGovernor", "VoteCast", "voter"),
]


def history(client: DaoClient, address: str) -> list[Log]:
    """Every event of the deployment that names `address`, oldest first."""
    found: dict[tuple[int, int], Log] = {}
    for contract, event, argument in HISTORY_EVENTS:
        bound = client.contract(contract)
        indexed = {n for n, _, i in bound.events[event].inputs if i}
        if argument in indexed:
            logs = bound.logs(event, client.deployed_at, **{argument: address})
        else:  # not indexed (the Governor's VoteCast voter is): filter here
            logs = [
                log
                for log in bound.logs(event, client.deployed_at)
                if str(log.args[argument]).lower() == address.lower()
            ]
        for log in logs:
            found[(log.block_number, log.log_index)] = log
    return [found[key] for key in sorted(found)]


def describe_event(log: Log) -> str:
    a = log.args
    match log.event:
        case "ContributionRecorded":
            return (
                f"contributed to dataset {a['datasetId']}: score {a['score']}, "
                f"{tokens(a['tokens'])} tokens, CID {a['cid']}"
            )
        case "ContributionWithdrawn":
            return (
                f"withdrew contribution 0x{a['fingerprint'].hex()[:12]}… from dataset "
                f"{a['datasetId']}"
            )
        case "Transfer":
            if int(a["from"], 16) == 0:
                return f"received {tokens(a['value'])} newly minted tokens"
            return f"{tokens(a['value'])} tokens {short(a['from'])} → {short(a['to'])}"
        case "DelegateChanged":
            return f"delegated votes to {short(a['toDelegate'])}"
        case "RentalRequested":
            return (
                f"requested rental #{a['rentalId']} of dataset {a['datasetId']}, "
                f"escrowed {eth(a['payment'])}"
            )
        case "RentalRefunded":
            return f"refunded {eth(a['payment'])} for rental #{a['rentalId']}"
        case "ContributionVoided":
            return (
                f"contribution 0x{a['fingerprint'].hex()[:12]}… voided by the DAO: "
                f"{tokens(a['tokensBurned'])} tokens burned"
            )
        case "EarningsClaimed":
            return f"claimed {eth(a['amount'])} of dataset {a['datasetId']}'s income by value"
        case "RevenueClaimed":
            return f"claimed {eth(a['amount'])} of dataset {a['datasetId']}'s rental income"
        case "AccessGranted":
            return f"granted access to dataset {a['datasetId']}"
        case "VoteCast":
            support = {0: "against", 1: "for", 2: "abstain"}[a["support"]]
            proposal = str(a["proposalId"])
            return f"voted {support} proposal id {proposal[:8]}… with {tokens(a['weight'])} votes"
    return f"{log.contract}.{log.event}"
