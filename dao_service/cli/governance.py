"""`datadao proposals`, `proposal show`, `vote`, `queue`, `execute`: token holders govern."""

from typing import TYPE_CHECKING, Any

import typer

from dao_service.cli.options import AccountOption, JsonOption, echo_json, load_account, with_client

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient
    from dao_service.client.governance import Proposal

proposal_app = typer.Typer(
    rich_markup_mode=None, help="One proposal in detail.", no_args_is_help=True
)

ProposalArgument = typer.Argument(
    ...,
    metavar="PROPOSAL",
    help="The proposal: its number in `datadao proposals` (1 = oldest) or its full id.",
)


def _summary(p: "Proposal", when: str) -> dict[str, Any]:
    return {
        "number": p.number,
        "id": str(p.id),
        "title": p.title,
        "state": p.state.name,
        "for": p.for_,
        "against": p.against,
        "abstain": p.abstain,
        "quorum": p.quorum,
        "quorum_reached": p.quorum_reached,
        "when": when,
    }


@with_client
def proposals(as_json: bool = JsonOption, *, client: "DaoClient") -> None:
    """List every proposal: state, votes for / against / abstain, quorum, what comes next."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from dao_service.client.governance import list_proposals, timings, tokens

    found = list_proposals(client)
    rows = [_summary(p, when) for p, when in zip(found, timings(client, found), strict=True)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        Console().print(
            "No proposals yet. Renters open one (`datadao rent propose --help` says how)."
        )
        return
    table = Table(title="Proposals")
    for column in ("#", "title", "state", "for", "against", "abstain", "quorum", "next"):
        table.add_column(column, overflow="fold")
    for r in rows:
        quorum = "-" if r["quorum_reached"] is None else ("yes" if r["quorum_reached"] else "no")
        table.add_row(
            str(r["number"]),
            escape(r["title"]),
            r["state"],
            tokens(r["for"]),
            tokens(r["against"]),
            tokens(r["abstain"]),
            quorum,
            r["when"],
        )
    Console().print(table)


@with_client
def show(
    reference: int = ProposalArgument, as_json: bool = JsonOption, *, client: "DaoClient"
) -> None:
    """One proposal: its actions in words, its votes and its timeline."""
    from rich.console import Console
    from rich.markup import escape

    from dao_service.client.governance import describe_action, get_proposal, timing, tokens

    p = get_proposal(client, reference)
    actions = [
        describe_action(client, t, v, c)
        for t, v, c in zip(p.targets, p.values, p.calldatas, strict=True)
    ]
    by = client.contract_at(p.proposer)
    proposer = f"{p.proposer} (the {by.name}, for a renter)" if by else p.proposer
    from dao_service.client.timefmt import utc

    timeline = [
        f"proposed at block {p.created_block} by {proposer}",
        f"votes counted as they stood at {utc(p.snapshot)}",
        f"voting ends at {utc(p.deadline)}",
    ]
    if p.eta:
        timeline.append(f"executable from {utc(p.eta)}")
    detail = {
        **_summary(p, timing(client, p)),
        "description": p.description,
        "actions": actions,
        "timeline": timeline,
    }
    if as_json:
        echo_json(detail)
        return
    console = Console()
    console.print(f"[bold]Proposal #{p.number}[/] {escape(p.title)}", highlight=False)
    console.print(f"id {p.id}", style="dim", highlight=False)
    when = detail["when"]
    shown = "" if when == p.state.name.lower() else f" ({when})"
    console.print(f"state: [bold]{p.state.name}[/]{shown}", highlight=False)
    quorum = "not yet known" if p.quorum is None else tokens(p.quorum)
    console.print(
        f"votes: for {tokens(p.for_)}, against {tokens(p.against)}, abstain "
        f"{tokens(p.abstain)}; quorum {quorum}"
        + (
            ""
            if p.quorum_reached is None
            else (" (reached)" if p.quorum_reached else " (not reached)")
        ),
        highlight=False,
    )
    console.print("actions:")
    for action in actions:
        console.print(f"  - {action}", highlight=False)
    console.print("timeline:")
    for line in timeline:
        console.print(f"  - {line}", highlight=False)


def _done(what: str, receipt: dict[str, Any], as_json: bool, **extra: Any) -> None:
    block, tx = int(receipt["blockNumber"], 16), receipt["transactionHash"]
    if as_json:
        echo_json({"done": what, "tx": tx, "block": block, **extra})
    else:
        typer.echo(f"{what} (tx {tx}, block {block}).")


@with_client
def vote(
    reference: int = ProposalArgument,
    support: str = typer.Argument(
        ..., help="for, against or abstain.", metavar="for|against|abstain"
    ),
    reason: str = typer.Option("", "--reason", help="Why, recorded on-chain with the vote."),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Vote on a proposal with the votes your account held when voting opened."""
    from dao_service.client.governance import Support
    from dao_service.client.governance import vote as cast

    if support not in ("for", "against", "abstain"):
        raise typer.BadParameter(
            f"{support!r}: vote for, against or abstain.", param_hint="SUPPORT"
        )
    signer = load_account(client, account)
    receipt = cast(client, signer, reference, Support.parse(support), reason)
    _done(f"Voted {support} proposal {reference}", receipt, as_json)


@with_client
def queue(
    reference: int = ProposalArgument,
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Queue a passed proposal in the timelock (anyone may)."""
    from dao_service.client.governance import get_proposal, timing
    from dao_service.client.governance import queue as enqueue

    signer = load_account(client, account)
    receipt = enqueue(client, signer, reference)
    queued = get_proposal(client, reference)
    _done(f"Queued proposal {reference}; {timing(client, queued)}", receipt, as_json)


@with_client
def execute(
    reference: int = ProposalArgument,
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Execute a queued proposal once its timelock delay has passed (anyone may)."""
    from dao_service.client.governance import execute as run

    signer = load_account(client, account)
    receipt = run(client, signer, reference, account_name=account)
    _done(f"Executed proposal {reference}", receipt, as_json)


@with_client
def new(
    description: str = typer.Argument(
        ..., help="What the proposal does and why (first line: title)."
    ),
    call: list[str] = typer.Option(
        ...,
        "--call",
        help="An action, as CONTRACT.FUNCTION:ARG,ARG… of a deployed contract, "
        "e.g. ContributionRegistry.setRewardRate:2000000000000000000. Repeat for several.",
    ),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Propose changes to the DAO directly (needs the proposal threshold in votes)."""
    from dao_service.client.governance import encode_action, get_proposal, propose

    signer = load_account(client, account)
    actions = [encode_action(client, text) for text in call]
    proposal_id = propose(client, signer, actions, description)
    proposal = get_proposal(client, proposal_id)
    if as_json:
        echo_json({"number": proposal.number, "id": str(proposal.id)})
    else:
        typer.echo(f"Opened proposal #{proposal.number} (id {proposal.id}).")


def register(app: typer.Typer) -> None:
    app.command()(proposals)
    proposal_app.command("show")(show)
    proposal_app.command("new")(new)
    app.add_typer(proposal_app, name="proposal")
    app.command()(vote)
    app.command()(queue)
    app.command()(execute)
