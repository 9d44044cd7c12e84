"""Proposals: list them, explain them, vote, queue and execute, with each refusal checked
before anything is sent and said as a sentence.

The Governor counts time in seconds (ERC-6372 timestamp mode: the token's clock is the
block's timestamp), so a proposal's snapshot and deadline are unix times."""

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from dao_service.client.core import ETH, DaoClient
from dao_service.client.timefmt import duration, utc
from dao_service.exceptions import Refused

PROPOSER_MARKER = re.compile(r"\s*#proposer=0x[0-9a-fA-F]{40}$")


class ProposalState(enum.IntEnum):
    """OpenZeppelin's IGovernor.ProposalState (Expired is never returned by OZ 5)."""

    Pending = 0
    Active = 1
    Canceled = 2
    Defeated = 3
    Succeeded = 4
    Queued = 5
    Expired = 6
    Executed = 7


class Support(enum.IntEnum):
    against = 0
    for_ = 1
    abstain = 2

    @classmethod
    def parse(cls, word: str) -> "Support":
        return {"for": cls.for_, "against": cls.against, "abstain": cls.abstain}[word]


@dataclass
class Proposal:
    number: int  # its place in the Governor's list, 1 = oldest
    id: int
    proposer: str
    description: str
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    created_block: int
    snapshot: int = 0  # unix seconds: votes are counted as they stood then
    deadline: int = 0  # unix seconds: the vote closes
    state: ProposalState = ProposalState.Pending
    against: int = 0
    for_: int = 0
    abstain: int = 0
    quorum: int | None = None
    eta: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The description's first line, without the Governor's `#proposer=` marker."""
        first = self.description.splitlines()[0] if self.description else f"#{self.number}"
        return PROPOSER_MARKER.sub("", first).rstrip()

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    @property
    def quorum_reached(self) -> bool | None:
        return None if self.quorum is None else self.for_ + self.abstain >= self.quorum

    def as_call(self) -> tuple[list[str], list[int], list[bytes], bytes]:
        return self.targets, self.values, self.calldatas, self.description_hash


def _created(client: DaoClient) -> list[Proposal]:
    return [
        Proposal(
            number=number,
            id=log.args["proposalId"],
            proposer=log.args["proposer"],
            description=log.args["description"],
            targets=list(log.args["targets"]),
            values=list(log.args["values"]),
            calldatas=list(log.args["calldatas"]),
            created_block=log.block_number,
        )
        for number, log in enumerate(
            client.governor.logs("ProposalCreated", client.deployed_at), start=1
        )
    ]


def _fill(client: DaoClient, proposals: list[Proposal], block: str = "latest") -> list[Proposal]:
    """Read state, timepoints, votes and eta of every proposal in one batch round trip.

    At the "pending" block, the state is the one a transaction sent now would meet."""
    governor = client.governor
    per = ("state", "proposalSnapshot", "proposalDeadline", "proposalVotes", "proposalEta")
    calls = [governor.call_request(fn, p.id, block=block) for p in proposals for fn in per]
    raw = client.rpc.batch([*calls, ("eth_getBlockByNumber", ["latest", False])])
    now = int(raw[-1]["timestamp"], 16)
    for i, proposal in enumerate(proposals):
        state, snapshot, deadline, votes, eta = (
            governor.functions[fn].decode_output(r)
            for fn, r in zip(per, raw[i * len(per) : (i + 1) * len(per)], strict=True)
        )
        proposal.state, proposal.snapshot, proposal.deadline = (
            ProposalState(state),
            snapshot,
            deadline,
        )
        proposal.against, proposal.for_, proposal.abstain = votes
        proposal.eta = eta
    past = [p for p in proposals if p.snapshot < now]
    quorums = client.rpc.batch([governor.call_request("quorum", p.snapshot) for p in past])
    for proposal, value in zip(past, quorums, strict=True):
        proposal.quorum = governor.functions["quorum"].decode_output(value)
    return proposals


def list_proposals(client: DaoClient) -> list[Proposal]:
    """Every proposal of the Governor, oldest first, with its state and votes as a
    transaction sent now would meet them (at the pending block: what `vote`, `queue` and
    `execute` check), so that what the list says next is what those commands allow."""
    return _fill(client, _created(client), "pending")


# Proposal ids are 256-bit hashes; below this, a number is a proposal's place in the list.
LIST_NUMBER_LIMIT = 10**9


def get_proposal(client: DaoClient, reference: int, block: str = "pending") -> Proposal:
    """A proposal by its id, or by its number in `datadao proposals` (1 is the oldest)."""
    created = _created(client)
    if 0 < reference < LIST_NUMBER_LIMIT and reference <= len(created):
        return _fill(client, [created[reference - 1]], block)[0]
    for proposal in created:
        if proposal.id == reference:
            return _fill(client, [proposal], block)[0]
    raise Refused(f"There is no proposal {reference} (see `datadao proposals`).")


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


# Every surface (command line, --json text, the contributors' page) shows ETH amounts
# rounded toward zero to this many decimals, so one amount reads the same everywhere and
# never more than the chain would pay.
ETH_DECIMALS = 6


def eth(wei: int) -> str:
    """`wei` in ETH, rounded toward zero to ETH_DECIMALS decimals, trailing zeros dropped
    (mine.js's `eth` is the same function)."""
    whole, fraction = divmod(abs(wei), ETH)
    digits = f"{fraction:018d}"[:ETH_DECIMALS].rstrip("0")
    sign = "-" if wei < 0 and (whole or digits) else ""
    return f"{sign}{whole}{'.' + digits if digits else ''} ETH"


def tokens(units: int) -> str:
    return f"{units / ETH:,.4f}".rstrip("0").rstrip(".")


def describe_action(client: DaoClient, target: str, value: int, calldata: bytes) -> str:
    """One proposal action in words, decoded against the deployment's ABIs."""
    contract = client.contract_at(target)
    decoded = contract.decode_calldata(calldata) if contract else None
    if contract is None or decoded is None:
        sent = f" sending {eth(value)}" if value else ""
        return f"call {target} with {len(calldata)} bytes of calldata{sent}"
    function, args = decoded
    if contract.name == "AccessRegistry" and function == "grantAccess":
        return (
            f"grant {short(args['grantee'])} access to dataset {args['datasetId']} "
            f"for {duration(args['duration'])}"
        )
    if contract.name == "RentalEscrow" and function == "approve":
        rental_id = args["rentalId"]
        renter, dataset, seconds, _, payment, _ = client.escrow.call("rentalOf", rental_id)
        sample_hash, sample_size = client.escrow.call("sampleOf", rental_id)
        split = (
            f"by each contribution's measured value to the renter's validation sample "
            f"(SHA-256 0x{sample_hash.hex()}, {sample_size:,} bytes)"
            if sample_size
            else "by score"
        )
        return (
            f"grant {short(renter)} access to dataset {dataset} for {duration(seconds)} and pay "
            f"{eth(payment)} (rental #{rental_id}) to dataset {dataset}'s contributors, "
            f"split {split}"
        )
    shown = ", ".join(f"{k}={v}" for k, v in args.items())
    return f"{contract.name}.{function}({shown})"


def timing(client: DaoClient, proposal: Proposal) -> str:
    """When the proposal's next step can happen, in words."""
    return timings(client, [proposal])[0]


def opens_in(proposal: Proposal, now: int) -> int:
    """Seconds until voting on `proposal` opens: the Governor counts votes once its clock
    is past the snapshot, so one second after it."""
    return max(proposal.snapshot + 1 - now, 1)


def timings(client: DaoClient, proposals: list[Proposal]) -> list[str]:
    """`timing` of many proposals, with the chain read in one round trip."""
    now = int(client.block()["timestamp"], 16)

    def one(proposal: Proposal) -> str:
        state = proposal.state
        if state is ProposalState.Pending:
            wait = opens_in(proposal, now)
            return f"voting opens in {duration(wait)} (at {utc(now + wait, now)})" + advance_hint(
                client, seconds=wait
            )
        if state is ProposalState.Active:
            left = max(proposal.deadline + 1 - now, 1)
            return (
                f"voting ends in {duration(left)} (at {utc(proposal.deadline, now)})"
                + advance_hint(client, seconds=left)
            )
        if state is ProposalState.Queued:
            if proposal.eta > now:
                wait = proposal.eta - now
                return (
                    f"executable in {duration(wait)} (at {utc(proposal.eta, now)})"
                    + advance_hint(client, seconds=wait)
                )
            return "executable now"
        if state is ProposalState.Succeeded:
            return "passed; queue it next"
        if state is ProposalState.Defeated:
            return f"voting closed at {utc(proposal.deadline, now)}"
        return state.name.lower()

    return [one(p) for p in proposals]


def advance_hint(client: DaoClient, *, seconds: int) -> str:
    """On a local chain, the command that moves it past a wait (the clock moves only with
    blocks there, and blocks come only with transactions); elsewhere nothing."""
    if not client.is_local_chain():
        return ""
    return f"; on the local chain: `datadao chain advance --time {seconds}s`"


def vote(
    client: DaoClient, account: Any, reference: int, support: Support, reason: str = ""
) -> dict[str, Any]:
    """Cast `account`'s vote; refuses with a sentence when the Governor would revert."""
    proposal = get_proposal(client, reference, block="pending")
    now = int(client.block()["timestamp"], 16)
    if proposal.state is ProposalState.Pending:
        wait = opens_in(proposal, now)
        raise Refused(
            f"voting opens in {duration(wait)} (proposal #{proposal.number} is Pending)"
            + advance_hint(client, seconds=wait)
        )
    if proposal.state is not ProposalState.Active:
        closed = utc(proposal.deadline, now)
        raise Refused(f"voting closed at {closed}; the proposal was {proposal.state.name}")
    # At the pending block, as the vote will be: at the latest block, right after voting
    # opened, the snapshot is not yet in the past and getVotes reverts (a future lookup).
    if client.governor.call("hasVoted", proposal.id, account.address, block="pending"):
        raise Refused(f"{account.address} has already voted on proposal #{proposal.number}")
    if client.governor.call("getVotes", account.address, proposal.snapshot, block="pending") == 0:
        raise Refused(
            f"{account.address} held no votes when voting on proposal #{proposal.number} "
            f"opened ({utc(proposal.snapshot, now)}); tokens received later do not count, "
            f"nor do new tokens before they mature"
        )
    return client.transact(
        account, client.governor, "castVoteWithReason", proposal.id, int(support), reason
    )


def queue(client: DaoClient, account: Any, reference: int) -> dict[str, Any]:
    proposal = get_proposal(client, reference, block="pending")
    if proposal.state is not ProposalState.Succeeded:
        raise Refused(
            f"queue needs a Succeeded proposal (this one is {proposal.state.name}: "
            f"{timing(client, proposal)})"
        )
    return client.transact(account, client.governor, "queue", *proposal.as_call())


def execute(
    client: DaoClient, account: Any, reference: int, account_name: str = "NAME"
) -> dict[str, Any]:
    """Execute a queued proposal; `account_name` is what hints tell the user to sign with."""
    proposal = get_proposal(client, reference, block="pending")
    if proposal.state is ProposalState.Succeeded:
        raise Refused(
            "execute needs a Queued proposal: queue it first "
            f"(`datadao queue {proposal.number} --account {account_name}`)"
        )
    if proposal.state is not ProposalState.Queued:
        raise Refused(f"execute needs a Queued proposal (this one is {proposal.state.name})")
    now = int(client.block()["timestamp"], 16)
    if proposal.eta > now:
        # The transaction lands in a block stamped at least one second later.
        wait = proposal.eta - now
        raise Refused(
            f"executable in {duration(wait)} (at {utc(proposal.eta, now)})"
            + advance_hint(client, seconds=wait)
        )
    return client.transact(account, client.governor, "execute", *proposal.as_call())


def propose(
    client: DaoClient,
    account: Any,
    actions: list[tuple[str, int, bytes]],
    description: str,
) -> int:
    """Open a proposal directly (holders above the threshold); returns its id."""
    # The Governor counts the proposer's votes a second before the proposal's timestamp;
    # the proposal lands in the next block, at the latest block's second or later. Asked at
    # the pending block, as the transaction will ask it.
    now = int(client.block()["timestamp"], 16)
    threshold = client.governor.call("proposalThreshold", block="pending")
    votes = client.governor.call("getVotes", account.address, now - 1, block="pending")
    if votes < threshold <= client.token.call("getVotes", account.address):
        # The votes arrived in the latest block's second (just minted, say): they count for
        # a proposal in a later second, which comes within a block or two.
        now = _second_after(client, now)
        votes = client.governor.call("getVotes", account.address, now - 1, block="pending")
    if votes < threshold:
        raise Refused(
            f"proposing directly needs {tokens(threshold)} votes (you have {tokens(votes)} at "
            f"{utc(now - 1, now)}); renters propose a rental instead "
            f"(`datadao rent propose --help`)"
        )
    targets = [a[0] for a in actions]
    receipt = client.transact(
        account,
        client.governor,
        "propose",
        targets,
        [a[1] for a in actions],
        [a[2] for a in actions],
        description,
    )
    (created,) = client.events_in(receipt, client.governor, "ProposalCreated")
    return int(created["proposalId"])


SECOND_WAIT_LIMIT = 30.0  # seconds to wait for the chain's clock to pass a second


def _second_after(client: DaoClient, second: int) -> int:
    """The timestamp of the block a transaction sent now lands in, once it is past
    `second` (the pending block's, which anvil stamps with its clock; a chain that does not
    report it is taken at its latest block's)."""
    import time

    waited = time.monotonic() + SECOND_WAIT_LIMIT
    while True:
        pending = client.block("pending") or client.block()
        stamp = int(pending["timestamp"], 16)
        if stamp > second or time.monotonic() > waited:
            return stamp
        time.sleep(0.2)


def encode_action(client: DaoClient, text: str) -> tuple[str, int, bytes]:
    """`CONTRACT.FUNCTION:ARG,ARG…` as a proposal action (target, value 0, calldata)."""
    head, _, arguments = text.partition(":")
    contract_name, _, function_name = head.partition(".")
    contract = client.contract(contract_name)
    function = contract.functions.get(function_name)
    if function is None:
        raise Refused(f"{contract_name} has no function {function_name!r}")
    given = [a.strip() for a in arguments.split(",")] if arguments else []
    if len(given) != len(function.input_types):
        raise Refused(
            f"{contract_name}.{function_name} takes {len(function.input_types)} arguments "
            f"({', '.join(function.input_types)}), {len(given)} given"
        )
    values = [
        _parse_argument(kind, value)
        for kind, value in zip(function.input_types, given, strict=True)
    ]
    return contract.address, 0, bytes.fromhex(function.encode(*values)[2:])


def _parse_argument(kind: str, value: str) -> Any:
    try:
        if kind.startswith(("uint", "int")):
            return int(value, 0)
        if kind == "bool":
            return {"true": True, "false": False}[value.lower()]
        if kind.startswith("bytes"):
            return bytes.fromhex(value.removeprefix("0x"))
    except (ValueError, KeyError):
        raise Refused(f"{value!r} is not a {kind}") from None
    return value
