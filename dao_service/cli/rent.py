"""`datadao rent propose | status | refund` and `datadao data fetch`: AI companies rent the
dataset through a DAO vote and fetch it once the vote has passed."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dao_service.cli.options import (
    AccountOption,
    DataDirOption,
    JsonOption,
    echo_json,
    ipfs_of,
    load_account,
    settings_from,
    with_client,
)

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient
    from dao_service.client.governance import ProposalState
    from dao_service.client.rentals import Rental

rent_app = typer.Typer(
    rich_markup_mode=None,
    help="Rent the dataset: escrow a payment and open the DAO vote that grants access.",
    no_args_is_help=True,
)
data_app = typer.Typer(rich_markup_mode=None, help="The rented data itself.", no_args_is_help=True)

DatasetOption = typer.Option(1, "--dataset", min=0, help="The dataset id.")


def _price(value: str) -> int:
    from decimal import Decimal, InvalidOperation

    try:
        wei = Decimal(value) * 10**18
    except InvalidOperation:
        raise typer.BadParameter(
            f"{value!r} is not an amount of ETH, e.g. 0.5.", param_hint="--price"
        ) from None
    if wei <= 0 or wei != wei.to_integral_value():
        raise typer.BadParameter(
            f"{value!r}: the price must be above zero, in ETH (at most 18 decimals).",
            param_hint="--price",
        )
    return int(wei)


def _rental_rows(client: "DaoClient", rentals: list["Rental"]) -> list[dict[str, Any]]:
    """Each rental with its proposal's state and what comes next (proposals read once)."""
    from dao_service.client.governance import list_proposals, timings

    proposals = {p.id: p for p in list_proposals(client)}
    mine = [proposals[r.proposal_id] for r in rentals]
    names = _account_names(client)
    return [
        {
            "rental": rental.id,
            "renter": rental.renter,
            "dataset": rental.dataset_id,
            "days": rental.duration / 86_400,
            "payment_wei": rental.payment,
            "status": rental.status.name,
            "proposal": proposal.number,
            "proposal_id": str(proposal.id),
            "proposal_state": proposal.state.name,
            "voting_opens_at": proposal.snapshot + 1,
            "voting_closes_at": proposal.deadline,
            "when": _next_for_renter(rental, proposal.state, when, names),
        }
        for rental, proposal, when in zip(rentals, mine, timings(client, mine), strict=True)
    ]


def _account_names(client: "DaoClient") -> dict[str, str]:
    """Address (lower case) -> the name this machine keeps it under, for runnable hints."""
    from dao_service.client.accounts import AccountStore

    store = AccountStore(client.endpoints.accounts_dir, test_keys=client.is_local_chain())
    return {a.address.lower(): a.name for a in reversed(store.list())}


def _next_for_renter(
    rental: "Rental", proposal_state: "ProposalState", when: str, names: dict[str, str]
) -> str:
    """What the renter does next, where that is not just waiting on the proposal: a command
    that runs as printed when the renter's account is on this machine (else it names the
    account to sign with)."""
    from dao_service.client.governance import ProposalState
    from dao_service.client.rentals import RentalStatus

    name = names.get(rental.renter.lower())

    def command(text: str) -> str:
        """Between backticks only what runs as printed; else NAME says what to fill in."""
        if name:
            return f"`{text} --account {name}`"
        return f"{text} --account NAME (NAME: your account of {rental.renter})"

    if rental.status is RentalStatus.Approved:
        fetch = f"datadao data fetch --dataset {rental.dataset_id} --out rental-{rental.id}"
        return f"fetch it: {command(fetch)}"
    # RentalEscrow refunds these at once (a passed one only after its execution window)
    ended = proposal_state in (ProposalState.Defeated, ProposalState.Canceled)
    if rental.status is RentalStatus.Pending and ended:
        return f"{when}; {command(f'datadao rent refund {rental.id}')} returns the payment"
    return when


@with_client
def propose(
    dataset: int = DatasetOption,
    days: float = typer.Option(..., "--days", min=0.0, help="How long access lasts once granted."),
    price: str = typer.Option(..., "--price", help="The payment in ETH, escrowed now."),
    description: str = typer.Option(
        "", "--description", help="What the data will be used for (voters read it)."
    ),
    sample: Path | None = typer.Option(
        None,
        "--sample",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A small validation sample of your task (one text per line, or JSON/CSV items): "
        "the payment is then split by each contribution's measured value to it.",
    ),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Escrow the payment and open the proposal that grants access, in one transaction.

    The payment goes to the dataset's contributors if the vote passes and is executed,
    and back to you (`datadao rent refund`) if it does not. With --sample, the sample goes
    to the service encrypted, its SHA-256 and size are recorded with the rental (voters
    see them), and the contributors are paid by how much their data helps your task.
    """
    from dao_service.client.rentals import request_rental
    from dao_service.client.timefmt import utc

    wei = _price(price)
    if days <= 0:
        raise typer.BadParameter("the rental must last more than 0 days", param_hint="--days")
    signer = load_account(client, account)
    rental = request_rental(
        client,
        signer,
        dataset,
        int(days * 86_400),
        wei,
        description or f"Rent dataset {dataset} for {days:g} days",
        sample.read_bytes() if sample else None,
    )
    (row,) = _rental_rows(client, [rental])
    if as_json:
        echo_json(row)
        return
    typer.echo(
        f"Rental #{rental.id}: {price} ETH escrowed for dataset {dataset}, {days:g} days.\n"
        f"Proposal #{row['proposal']} (id {row['proposal_id']}): voting runs from "
        f"{utc(row['voting_opens_at'])} to {utc(row['voting_closes_at'])}; {row['when']}.\n"
        f"Follow it with `datadao rent status {rental.id}`."
    )


@with_client
def status(
    rental_id: int | None = typer.Argument(None, help="One rental; default: all of them."),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Rentals with their payment, their proposal's state and what comes next."""
    from rich.console import Console
    from rich.table import Table

    from dao_service.client.governance import eth
    from dao_service.client.rentals import get_rental, list_rentals

    rentals = [get_rental(client, rental_id)] if rental_id is not None else list_rentals(client)
    rows = _rental_rows(client, rentals)
    if as_json:
        echo_json(rows if rental_id is None else rows[0])
        return
    if not rows:
        Console().print("No rentals yet. `datadao rent propose --help` says how to request one.")
        return
    table = Table(title="Rentals")
    for column in ("#", "dataset", "days", "payment", "status", "proposal", "next"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["rental"]),
            str(r["dataset"]),
            f"{r['days']:g}",
            eth(r["payment_wei"]),
            r["status"],
            f"#{r['proposal']} {r['proposal_state']}",
            r["when"],
        )
    Console().print(table)


@with_client
def refund(
    rental_id: int = typer.Argument(..., help="The rental."),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Return a rental's payment to its renter once its proposal was defeated or timed out."""
    from dao_service.client.governance import eth
    from dao_service.client.rentals import get_rental
    from dao_service.client.rentals import refund as give_back

    signer = load_account(client, account)
    receipt = give_back(client, signer, rental_id)
    rental = get_rental(client, rental_id)
    if as_json:
        echo_json(
            {
                "rental": rental_id,
                "refunded_wei": rental.payment,
                "to": rental.renter,
                "tx": receipt["transactionHash"],
            }
        )
    else:
        typer.echo(
            f"Refunded {eth(rental.payment)} to {rental.renter} (tx {receipt['transactionHash']})."
        )


@with_client
def fetch(
    dataset: int = DatasetOption,
    out: Path = typer.Option(..., "--out", file_okay=False, help="Folder to write the files to."),
    account: str = AccountOption,
    fmt: str = typer.Option(
        "parquet", "--format", help="parquet (as stored) or jsonl: one JSON object a line."
    ),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Download and decrypt a dataset you rented: its records, a data card, a manifest.

    Records of one schema (datadao-records) go to OUT/data/, one part file per
    contribution, which pyarrow, polars, DuckDB and Hugging Face `datasets` load as they
    are (e.g. `duckdb.sql("select * from 'OUT/data/*.parquet'")`). OUT/datacard.md and
    .json say what is in it: counts per source, kind and language, the days it spans,
    the rental's terms and each contribution's CID and hash. Each blob is checked against
    its IPFS CID and the SHA-256 attested for it. Run it again to resume: verified parts
    are not fetched twice, and parts of withdrawn contributions are removed.
    """
    from rich.console import Console
    from rich.progress import Progress

    from dao_service.client.fetch import fetch_dataset, grant_refusal

    signer = load_account(client, account)
    with Progress(transient=True, disable=as_json, console=Console(stderr=True)) as bar:
        asked = "the custody nodes" if client.custody_nodes() else "the service"
        task = bar.add_task(f"Asking {asked} for the keys", total=None)

        def progress(contribution_id: str, done: int, total: int) -> None:
            bar.update(
                task, description=f"Fetching {contribution_id[:8]}", completed=done, total=total
            )

        result = fetch_dataset(client, signer, dataset, out, ipfs_of(client), progress, fmt=fmt)
    # Without a grant the service releases only the account's own contributions: say so,
    # or a contributor takes their own file for the dataset.
    whole = bool(client.access.call("canDecrypt", dataset, signer.address))
    note = (
        None
        if whole
        else "only your own contributions (contributors may always fetch theirs): "
        + grant_refusal(client, signer.address, dataset)
    )
    if as_json:
        echo_json(
            {
                "dataset": dataset,
                "scope": "dataset" if whole else "own contributions",
                "note": note,
                "files": len(result.files),
                "records": result.records,
                "datacard": result.datacard,
                "downloaded": result.downloaded,
                "skipped": result.skipped,
                "removed": result.removed,
                "manifest": result.manifest,
                "unused_nodes": result.unused_nodes,
                "incomplete": result.incomplete,
            }
        )
        return
    typer.echo(
        f"Dataset {dataset}: {result.records:,} records in {len(result.files)} part files in "
        f"{out / 'data'} ({result.downloaded} downloaded, {result.skipped} already there and "
        "verified)."
    )
    typer.echo(f"Data card: {result.datacard}")
    if note:
        typer.echo(f"Note: {note}.")
    if result.removed:
        typer.echo(f"Removed {len(result.removed)} files withdrawn by their contributors.")
    for unused in result.unused_nodes:  # enough others answered; this one is worth a look
        typer.echo(f"Not used: {unused}.")
    if result.incomplete:
        typer.echo(
            f"Not yet released: {len(result.incomplete)} contribution(s) fewer than the "
            "needed custody nodes gave a share of (being delivered to them, or held by a node "
            f"that did not answer): {', '.join(result.incomplete[:5])}"
            f"{', …' if len(result.incomplete) > 5 else ''}. Fetch again later."
        )
    typer.echo(f"Manifest: {result.manifest}")


def refine_stored(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Refine contributions stored as they were uploaded, then unpin and delete the uploads.

    Before the record schema existed, the service stored each upload whole; renters now
    receive only refined records. This refines each such contribution (in memory), stores
    its records encrypted, records the new CID on-chain for minted ones (signed by this
    service's validator key) and unpins the upload. Run it once, with the service
    stopped, on the service's machine (it opens the custody key). Exit code 1 if any
    contribution could not be refined (each is named with why).
    """
    from rich.console import Console

    from dao_service.intake.refine_stored import StoredParts, refine_stored
    from dao_service.runtime import open_runtime

    console = Console(stderr=as_json)
    settings = settings_from(data_dir)
    with open_runtime(settings) as runtime:
        parts = StoredParts(
            runtime.sessions,
            runtime.custody,
            runtime.ipfs,
            runtime.intake.spool,
            runtime.intake.refiner,
            runtime.chain(),
        )
        with console.status("Refining stored uploads ...") as status:
            summary = refine_stored(
                parts, lambda row: status.update(f"Refining contribution {row.public_id} ...")
            )
    if as_json:
        echo_json(
            {"refined": summary.refined, "failed": summary.failed, "unpinned": summary.unpinned}
        )
    else:
        console.print(
            f"Refined {len(summary.refined)} contributions; unpinned and deleted "
            f"{len(summary.unpinned)} uploads.",
            highlight=False,
        )
        for public_id, why in summary.failed.items():
            console.print(f"[red]Not refined[/] {public_id}: {why}", highlight=False)
    raise typer.Exit(1 if summary.failed else 0)


def register(app: typer.Typer) -> None:
    rent_app.command()(propose)
    rent_app.command()(status)
    rent_app.command()(refund)
    app.add_typer(rent_app, name="rent")
    data_app.command()(fetch)
    data_app.command("refine-stored")(refine_stored)
    app.add_typer(data_app, name="data")
