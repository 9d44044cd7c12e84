"""`datadao demo`: the whole story on the running local stack, each step printed; or,
with `--exports DIR`, sample exports to try the web form with."""

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dao_service.cli.options import with_client

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient

# anvil test accounts: 1 validates and 9 relays on the local stack, so neither contributes.
CONTRIBUTORS = ("test2", "test3", "test4")
RENTER = "test5"
RENTAL_PRICE_ETH = 3


def write_sample_exports(folder: Path) -> list[Path]:
    """Two Reddit data-request zips and one X archive as the platforms send them: private
    files (messages, IP logs, payment details...) beside the public posts, which the web
    form and `datadao contribute` leave on the machine."""
    from dao_service.stack.sample_exports import (
        reddit_full_export,
        reddit_spec,
        x_full_archive,
        x_spec,
    )

    folder.mkdir(parents=True, exist_ok=True)
    run = int(time.time())  # new accounts and content on every call: nothing is a duplicate
    samples = {
        f"reddit-export-{run}-a.zip": reddit_full_export(
            reddit_spec(seed=run, account=f"demo_a_{run}")
        ),
        f"reddit-export-{run}-b.zip": reddit_full_export(
            reddit_spec(seed=run + 1, account=f"demo_b_{run}")
        ),
        f"twitter-archive-{run}.zip": x_full_archive(x_spec(seed=run + 2)),
    }
    paths = []
    for name, data in samples.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def publish_samples(client: "DaoClient", paths: list[Path]) -> str:
    """The sample accounts' items go on the local stack's platform stand-in, as if they
    had posted them: the service's spot-checks then find them (fabricated ones fail)."""
    from dao_service.client.platform_standin import publish_export
    from dao_service.core.config import Settings
    from dao_service.stack.running import settings_of_running_stack

    settings = settings_of_running_stack(Settings(data_dir=client.endpoints.data_dir))
    for path in paths:
        publish_export(settings.platform_stand_in_url, path.read_bytes())
    return settings.platform_stand_in_url


@with_client
def demo(
    exports: Path | None = typer.Option(
        None,
        "--exports",
        file_okay=False,
        help="Only write sample exports into this folder (to try the web form), then stop.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        file_okay=False,
        help="Where the renter's fetched files go (default: a folder beside the stack's data).",
    ),
    *,
    client: "DaoClient",
) -> None:
    """Run the whole story on the local stack: three contributors, one renter, a vote.

    Contributors test2-test4 contribute sample exports and receive tokens; renter test5
    escrows a payment and opens the rental proposal; the holders vote; the proposal is
    queued and executed (the demo moves the local chain's clock); the renter
    fetches and decrypts the data; the contributors claim their share.
    """
    from rich.console import Console
    from rich.table import Table

    from dao_service.cli.options import ipfs_of, load_account
    from dao_service.client.contribute import contribute
    from dao_service.client.devchain import advance
    from dao_service.client.fetch import fetch_dataset
    from dao_service.client.governance import (
        Support,
        eth,
        execute,
        get_proposal,
        queue,
        short,
        tokens,
        vote,
    )
    from dao_service.client.holdings import balance, claim
    from dao_service.client.rentals import request_rental
    from dao_service.exceptions import ConfigurationError, StackError

    console = Console()
    if exports is not None:
        written = write_sample_exports(exports)
        for path in written:
            console.print(f"wrote {path}", highlight=False)
        try:
            where = publish_samples(client, written)
            console.print(f"Their items are on the platform stand-in at {where}.")
        except StackError as exc:
            console.print(f"Not published on a platform stand-in: {exc.user_message}")
        console.print("Upload one on the web form (see `datadao status` for its address).")
        return
    if not client.is_local_chain():
        raise ConfigurationError("the demo runs only on the local stack (anvil's chain)")

    def step(text: str) -> None:
        console.print(f"[bold cyan]==>[/] {text}", highlight=False)

    parameters = client.manifest.parameters
    samples = write_sample_exports(client.endpoints.data_dir / "demo" / "exports")
    step(f"the sample accounts' items are on the platform stand-in ({len(samples)} exports)")
    publish_samples(client, samples)
    signers = {name: load_account(client, name) for name in (*CONTRIBUTORS, RENTER)}
    rows: dict[str, dict[str, Any]] = {}
    for name, export in zip(CONTRIBUTORS, samples, strict=True):
        step(f"{name} contributes {export.name} (encrypted here, validated by the service)")
        receipt = contribute(client.service, signers[name], export)
        if receipt["status"] != "minted":
            reasons = "; ".join(receipt["rejection_reasons"]) or receipt["status"]
            raise ConfigurationError(f"the sample export was not minted: {reasons}")
        held = balance(client, signers[name].address)
        console.print(
            f"    score {receipt['score']}, {tokens(held.tokens)} tokens, CID {receipt['cid']}",
            highlight=False,
        )
        rows[name] = {"address": signers[name].address, "score": receipt["score"]}

    step(f"{RENTER} (an AI company) escrows {RENTAL_PRICE_ETH} ETH to rent dataset 1 for 30 days")
    rental = request_rental(
        client,
        signers[RENTER],
        1,
        30 * 86_400,
        RENTAL_PRICE_ETH * 10**18,
        "Demo: fine-tune a small assistant on community discussions",
    )
    proposal = get_proposal(client, rental.proposal_id)
    console.print(f"    rental #{rental.id}, proposal #{proposal.number}", highlight=False)
    advance(client, seconds=int(parameters["voting_delay_seconds"]) + 1)
    for name in CONTRIBUTORS:
        step(f"{name} votes for")
        vote(client, signers[name], rental.proposal_id, Support.for_, "fair price")
    step("voting period ends (the demo moves the clock)")
    advance(client, seconds=int(parameters["voting_period_seconds"]) + 1)
    step("the proposal is queued in the timelock, and executed after its delay")
    queue(client, signers[RENTER], rental.proposal_id)
    advance(client, seconds=int(parameters["timelock_delay_seconds"]) + 1)
    execute(client, signers[RENTER], rental.proposal_id)

    folder = out or client.endpoints.data_dir / "demo" / f"rental-{rental.id}"
    step(f"{RENTER} fetches and decrypts the dataset into {folder}")
    fetched = fetch_dataset(client, signers[RENTER], 1, folder, ipfs_of(client))
    console.print(
        f"    {len(fetched.files)} files, each checked against its CID and SHA-256", highlight=False
    )
    for name in CONTRIBUTORS:
        step(f"{name} claims rental income")
        rows[name]["claimed"] = sum(claim(client, signers[name]).values())

    table = Table(title=f"Demo summary: rental #{rental.id} of dataset 1")
    for column in ("contributor", "address", "score", "claimed"):
        table.add_column(column, overflow="fold")
    for name, row in rows.items():
        table.add_row(name, short(row["address"]), str(row["score"]), eth(row["claimed"]))
    console.print(table)
    console.print(
        "Next: `datadao proposals`, `datadao history --account test2`, "
        "`datadao balance --account test3`."
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
