"""What an account holds and did: tokens, votes, delegate, income; delegation, claims,
withdrawals and the on-chain events that concern it."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dao_service.client.core import DaoClient
from dao_service.client.governance import eth, short, tokens
from dao_service.client.rpc import Log
from dao_service.exceptions import Refused

if TYPE_CHECKING:
    from dao_service.client.income import Income


@dataclass
class Balance:
    address: str
    tokens: int
    votes: int
    delegate: str
    claimable_wei: dict[int, int]  # per dataset, by score and by measured value together
    eth_wei: int
    income: "Income"
    maturing: int = 0  # tokens the registry holds for the account until they mature
    next_maturity: int | None = None  # when the first of them does (unix seconds)


def datasets_of(client: DaoClient, address: str | None = None) -> list[int]:
    """The datasets `address` (default: anyone) ever contributed to; income is accounted
    per dataset, and only a dataset with contributions can be rented."""
    filters = {"contributor": address} if address else {}
    logs = client.registry.logs("ContributionRecorded", client.deployed_at, **filters)
    return sorted({log.args["datasetId"] for log in logs})


def balance(client: DaoClient, address: str) -> Balance:
    from dao_service.client.income import income

    token = client.token
    raw = client.rpc.batch(
        [
            token.call_request("balanceOf", address),
            token.call_request("getVotes", address),
            token.call_request("delegates", address),
            ("eth_getBalance", [address, "latest"]),
        ]
    )
    owed = income(client, address)
    maturing, next_maturity = _maturing(client, address)
    return Balance(
        maturing=maturing,
        next_maturity=next_maturity,
        address=address,
        tokens=token.functions["balanceOf"].decode_output(raw[0]),
        votes=token.functions["getVotes"].decode_output(raw[1]),
        delegate=token.functions["delegates"].decode_output(raw[2]),
        claimable_wei={d.dataset_id: d.claimable_wei for d in owed.datasets},
        eth_wei=int(raw[3], 16),
        income=owed,
    )


def _maturing(client: DaoClient, address: str) -> tuple[int, int | None]:
    """Tokens of `address`'s contributions still in the registry's custody (no votes, no
    income until released), and when the first matures."""
    registry = client.registry
    recorded = registry.logs("ContributionRecorded", client.deployed_at, contributor=address)
    fingerprints = [log.args["fingerprint"] for log in recorded]
    raw = client.rpc.batch(
        [
            registry.call_request(fn, f)
            for f in fingerprints
            for fn in ("maturityOf", "contributionOf")
        ]
    )
    held, first = 0, None
    for i in range(len(fingerprints)):
        matures_at, released = registry.functions["maturityOf"].decode_output(raw[2 * i])
        minted = registry.functions["contributionOf"].decode_output(raw[2 * i + 1])[3]
        if not released and minted:  # voided: nothing minted any more
            held += minted
            first = matures_at if first is None else min(first, matures_at)
    return held, first


def delegate(client: DaoClient, account: Any, to: str) -> dict[str, Any]:
    if int(to, 16) == 0:
        raise Refused(
            "delegate to an address, not to zero (to vote yourself, delegate to yourself)"
        )
    return client.transact(account, client.token, "delegate", to)


def claim(client: DaoClient, account: Any, dataset_id: int | None = None) -> dict[int, int]:
    """Pay `account` everything it may claim from `dataset_id` (default: every dataset):
    income split by score, and income split by measured value (with its Merkle proof),
    as `income` counts it; returns the wei paid per dataset."""
    from dao_service.client.income import claim_calls, income

    paid: dict[int, int] = {}
    for call in claim_calls(income(client, account.address)):
        if dataset_id is not None and call.dataset_id != dataset_id:
            continue
        receipt = client.transact(account, client.pool, call.function, *call.args)
        (event,) = client.events_in(receipt, client.pool, call.event)
        paid[call.dataset_id] = paid.get(call.dataset_id, 0) + int(event["amount"])
    if not paid:
        where = f"dataset {dataset_id}" if dataset_id is not None else "any dataset"
        raise Refused(
            f"{account.address} has no rental income to claim from {where}"
            + _waiting(client, account.address, dataset_id)
        )
    return paid


def _waiting(client: DaoClient, address: str, dataset_id: int | None) -> str:
    """What becomes claimable once an earnings root has waited out its challenge delay."""
    from dao_service.client.governance import advance_hint, eth
    from dao_service.client.income import income
    from dao_service.client.timefmt import duration, utc

    now = int(client.block()["timestamp"], 16)
    waits = [
        d.by_value
        for d in income(client, address).datasets
        if d.by_value and d.by_value.pending_wei and d.by_value.claimable_at
        if dataset_id is None or d.dataset_id == dataset_id
    ]
    return "".join(
        f"; {eth(w.pending_wei)} of dataset {w.dataset_id}'s is claimable after "
        f"{utc(w.claimable_at, now)} (in {duration(w.claimable_at - now)}, when its earnings "
        f"root has waited out the challenge delay)"
        + advance_hint(client, seconds=max(w.claimable_at - now, 1))
        for w in waits
        if w.claimable_at
    )


def withdraw(client: DaoClient, account: Any, contribution_id: str) -> dict[str, Any]:
    """Withdraw `account`'s minted contribution `contribution_id`: `account` signs the
    EIP-712 withdrawal, the service relays it and destroys the key; the service's answer."""
    import time

    from dao_service.chain.attestations import withdrawal_typed_data
    from dao_service.client.contribute import sign_typed

    receipt = client.service.receipt(contribution_id)
    if receipt["contributor"].lower() != account.address.lower():
        raise Refused(
            f"contribution {contribution_id} belongs to {receipt['contributor']}, "
            f"not to {account.address}"
        )
    if receipt["withdrawn"]:
        if client.custody_nodes() is None:
            raise Refused(f"contribution {contribution_id} is already withdrawn")
        # Asked again, the custody nodes that had not confirmed destroying its share do.
        return client.service.withdraw(contribution_id, 0, "0x" + "00" * 65)
    if receipt["status"] != "minted" or not receipt.get("attestation"):
        raise Refused(
            f"contribution {contribution_id} is {receipt['status']}; "
            "only minted contributions can be withdrawn"
        )
    fingerprint = bytes.fromhex(receipt["attestation"]["fingerprint"].removeprefix("0x"))
    # An hour from now by the chain's clock, which a local chain may have moved ahead.
    chain_now = int(client.block()["timestamp"], 16)
    deadline = max(int(time.time()), chain_now) + 3600
    typed = withdrawal_typed_data(fingerprint, deadline, client.chain_id, client.registry.address)
    return client.service.withdraw(contribution_id, deadline, sign_typed(account, typed))


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


def contribution_ids(client: DaoClient, address: str) -> dict[str, str]:
    """Fingerprint (0x-hex, lower case) -> contribution id, as the service knows them: a
    contribution is named by its id everywhere (receipt, `withdraw`, the page); the chain
    knows only its fingerprint. Empty when the service cannot be reached."""
    from dao_service.exceptions import DataDaoError

    try:
        found = client.service.contributions_of(address)
    except DataDaoError:
        return {}
    return {str(c["fingerprint"]).lower(): str(c["id"]) for c in found if c.get("fingerprint")}


def contribution_of(log: Log, ids: dict[str, str]) -> str | None:
    """The id of the contribution an event names, if it names one the service knows."""
    fingerprint = log.args.get("fingerprint")
    if not isinstance(fingerprint, bytes):
        return None
    return ids.get("0x" + fingerprint.hex())


def describe_event(log: Log, ids: dict[str, str] | None = None) -> str:
    a = log.args
    fingerprint = a.get("fingerprint")
    named = contribution_of(log, ids or {})
    if named is None and isinstance(fingerprint, bytes):  # not known to this service
        named = f"with fingerprint 0x{fingerprint.hex()}"
    match log.event:
        case "ContributionRecorded":
            return (
                f"contributed {named} to dataset {a['datasetId']}: score {a['score']}, "
                f"{tokens(a['tokens'])} tokens, CID {a['cid']}"
            )
        case "ContributionWithdrawn":
            return f"withdrew contribution {named} from dataset {a['datasetId']}"
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
                f"contribution {named} voided by the DAO: {tokens(a['tokensBurned'])} tokens burned"
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
