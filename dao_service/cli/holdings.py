"""`datadao contribute`, `balance`, `delegate`, `claim`, `withdraw`, `history`: what a
contributor and token holder does with their account."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dao_service.cli.options import (
    AccountOption,
    JsonOption,
    address_argument,
    echo_json,
    load_account,
    with_client,
)

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient
    from dao_service.client.income import Income, RentalIncome

OptionalAccount = typer.Option(
    None, "--account", "-a", help="An account name from `datadao account list`."
)


def _address(client: "DaoClient", address: str | None, account: str | None) -> str:
    from dao_service.client.accounts import AccountStore

    if address:
        return address
    if account:
        store = AccountStore(client.endpoints.accounts_dir, test_keys=client.is_local_chain())
        return store.address_of(account)
    raise typer.BadParameter("give an ADDRESS or --account NAME", param_hint="ADDRESS")


def _platform_name(value: str | None) -> str | None:
    if value is not None and value not in ("reddit", "x"):
        raise typer.BadParameter(f"{value!r}: sign in with reddit or x.")
    return value


@with_client
def contribute(
    export: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="EXPORT",
        help="Your export (zip, JSON or CSV).",
    ),
    account: str = AccountOption,
    sign_in: str | None = typer.Option(
        None,
        "--sign-in",
        metavar="reddit|x",
        callback=_platform_name,
        help="Sign in with the platform first (in a browser), binding the export's account.",
    ),
    sign_in_pass: str = typer.Option(
        "",
        "--sign-in-pass",
        envvar="DATADAO_SIGN_IN_PASS",
        help="A sign-in pass from an earlier sign-in (what --sign-in asks you to paste).",
    ),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Contribute an export: encrypted here, signed, uploaded, validated, minted.

    The same path as the web form: the export is encrypted on this machine, your account
    signs the statement, the service validates it, stores it on IPFS and mints tokens.
    The service never sees it unencrypted outside its memory. Exit code 0: minted;
    1: rejected (the reasons are printed) or failed.
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from dao_service.client.contribute import contribute as send
    from dao_service.client.contribute import export_data, sign_in_url
    from dao_service.client.preview import preview

    signer = load_account(client, account)
    console = Console(stderr=as_json)
    if sign_in and not sign_in_pass:
        console.print(
            f"Sign in with {sign_in} in your browser:\n  "
            f"{sign_in_url(client.service, sign_in, signer)}",
            highlight=False,
            soft_wrap=True,
        )
        sign_in_pass = typer.prompt("Paste the sign-in pass the page shows", err=as_json).strip()
    if sign_in_pass:
        signed = client.service.read_sign_in(sign_in_pass)
        console.print(
            f"Signed in with {signed['platform']} as {signed['account_name']}.", highlight=False
        )
    prepared = export_data(export, client.service.config()["sources"])
    if not as_json:
        _print_selection(console, export, prepared, preview(prepared.plaintext, signer.address))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"Uploading {export.name} (encrypted)", total=export.stat().st_size)

        def uploaded(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def stage(receipt: dict[str, Any]) -> None:
            waiting = f" (waiting: {receipt['last_error']})" if receipt.get("last_error") else ""
            bar.update(
                task, description=f"Contribution {receipt['id'][:8]}: {receipt['status']}{waiting}"
            )

        receipt = send(
            client.service,
            signer,
            export,
            uploaded,
            stage,
            sign_in_pass=sign_in_pass,
            prepared=prepared,
        )
    if as_json:
        echo_json(receipt)
    else:
        _print_receipt(console, receipt, account)
    raise typer.Exit(0 if receipt["status"] in ("minted", "withdrawn") else 1)


def _print_selection(
    console: Any, export: Path, prepared: Any, records: list[dict[str, Any]]
) -> None:
    """What leaves this machine, what stays and why, and what renters would see."""
    from rich.table import Table

    kind = prepared.source or "unknown"
    console.print(
        f"Uploading of {export.name} ({kind} export), encrypted: "
        + ", ".join(
            name
            + (f" (only {', '.join(prepared.reduced[name])})" if name in prepared.reduced else "")
            for name in prepared.taken
        ),
        highlight=False,
        soft_wrap=True,
    )
    if prepared.left:
        stays = Table(title="stays on this machine, never uploaded")
        stays.add_column("file", overflow="fold")
        stays.add_column("why", overflow="fold")
        for left in prepared.left:
            stays.add_row(left.name, left.why)
        console.print(stays)
    if records:
        shown = Table(title=f"what renters will see: the first {len(records)} records")
        for column in ("contributor", "kind", "community", "day", "language", "text"):
            shown.add_column(column, overflow="fold")
        for row in records:
            text = row["text"] if len(row["text"]) <= 160 else row["text"][:157] + "..."
            shown.add_row(*(str(row[c] or "") for c in ("contributor", "kind", "community",
                                                        "day", "language")), text)  # fmt: skip
        console.print(shown)


def _print_receipt(console: Any, receipt: dict[str, Any], account: str) -> None:
    from rich.table import Table

    from dao_service.client.governance import tokens

    report = receipt["report"]
    required = set(report.get("required_checks") or [])
    checks = Table(title="checks")
    for column in ("check", "result", "why"):
        checks.add_column(column, overflow="fold")
    for group in ("authenticity", "ownership"):
        for check in report.get(group) or []:
            name = check["name"] + (" (required)" if check["name"] in required else "")
            checks.add_row(name, check["status"].replace("_", " "), check["reason"])
    console.print(checks)
    if receipt.get("already_contributed_at"):
        from dao_service.client.timefmt import utc

        when = utc(receipt["already_contributed_at"])
        console.print(f"You already contributed this export ({when}).", highlight=False)
    if not receipt["accepted"]:
        console.print(f"[red]Rejected[/] contribution {receipt['id']}:", highlight=False)
        for reason in receipt["rejection_reasons"]:
            console.print(f"  - {reason}", highlight=False)
        return
    breakdown = receipt["report"].get("breakdown") or []
    if breakdown:
        table = Table(title="score")
        for column in ("signal", "value", "how"):
            table.add_column(column, overflow="fold")
        for line in breakdown:
            table.add_row(line["signal"], f"{line['value']:g}", line["reason"])
        console.print(table)
    attestation = receipt.get("attestation") or {}
    minted = receipt.get("tokens_wei")
    console.print(
        f"[green]Minted[/] contribution {receipt['id']}: score {receipt['score']}, "
        f"{tokens(int(minted)) if minted is not None else 'unknown'} tokens minted\n"
        f"  {receipt.get('records')} records of {receipt.get('record_schema')}\n"
        f"  CID {receipt['cid']}\n  transaction {receipt['tx_hash']}\n"
        f"  dataset {attestation.get('dataset_id', '?')}; withdraw it with "
        f"`datadao withdraw {receipt['id']} --account {account}`",
        highlight=False,
    )


def _income_table(income: "Income") -> Any:
    """Per rental, what it paid the account and how it was split; the claimable total
    last (the same figures `earnings`, `balance`, `claim` and the contributors' page use)."""
    from rich.table import Table

    table = Table(title="Rental income", caption=income.address)
    for column in ("dataset", "rental", "split by", "value", "earned", "table (IPFS)"):
        table.add_column(column, overflow="fold")
    for r in income.rentals:
        table.add_row(
            str(r.dataset_id),
            f"#{r.rental_id}" if r.rental_id is not None else "deposit",
            r.split_by,
            "-" if r.value is None else f"{r.value:.4f}",
            _earned(r),
            r.table_cid or "-",
        )
    return table


def _earned(r: "RentalIncome") -> str:
    """What a rental paid, and while its earnings root waits out the challenge delay, when
    it becomes claimable."""
    from dao_service.client.governance import eth
    from dao_service.client.timefmt import utc

    if r.claimable_at is None:
        return eth(r.amount_wei)
    return f"{eth(r.amount_wei)} (claimable after {utc(r.claimable_at)})"


def _income_summary(income: "Income", name: str | None) -> str:
    """The totals; while something is claimable, the command that collects it all (runnable
    as printed when the account is on this machine under `name`)."""
    from dao_service.client.governance import ETH_DECIMALS, eth

    earned = sum(d.earned_wei for d in income.datasets)
    claimed = sum(d.claimed_wei for d in income.datasets)
    summary = (
        f"earned {eth(earned)}, claimed {eth(claimed)}, claimable {eth(income.claimable_wei)} "
        f"(by score and by measured value, rounded toward zero to {ETH_DECIMALS} decimals)"
    )
    if income.claimable_wei and name:
        summary += f"; `datadao claim --account {name}` collects it all"
    elif income.claimable_wei:
        summary += f"; datadao claim --account NAME collects it all (NAME: {income.address}'s)"
    return summary


@with_client
def balance(
    address: str | None = typer.Argument(None, callback=address_argument, help="An address."),
    account: str | None = OptionalAccount,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Tokens, votes, delegate and claimable rental income of an account."""
    from rich.console import Console
    from rich.table import Table

    from dao_service.client.governance import eth, tokens
    from dao_service.client.holdings import balance as read

    held = read(client, _address(client, address, account))
    if as_json:
        echo_json(
            {
                "address": held.address,
                "tokens": held.tokens,
                "votes": held.votes,
                "delegate": held.delegate,
                "claimable_wei": held.claimable_wei,
                "eth_wei": held.eth_wei,
                "maturing_tokens": held.maturing,
                "next_maturity": held.next_maturity,
                "income": held.income.as_json(),
            }
        )
        return
    table = Table(title="Balance", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("address", held.address)
    table.add_row("tokens", tokens(held.tokens))
    table.add_row("votes", tokens(held.votes))
    if held.maturing and held.next_maturity:
        from dao_service.client.timefmt import utc

        table.add_row(
            "maturing",
            f"{tokens(held.maturing)} tokens, held by the registry: they vote and earn once "
            f"released, the first from {utc(held.next_maturity)}",
        )
    own = held.delegate.lower() == held.address.lower()
    table.add_row("delegate", "itself" if own else held.delegate)
    for r in held.income.rentals:
        rental = f"rental #{r.rental_id}" if r.rental_id is not None else "a deposit"
        table.add_row(f"earned from {rental} (dataset {r.dataset_id}, by {r.split_by})", _earned(r))
    if held.income.datasets:
        table.add_row("claimable income", eth(held.income.claimable_wei))
    else:
        table.add_row("claimable income", "none (no contributions yet)")
    table.add_row("ETH", eth(held.eth_wei))
    Console().print(table)


@with_client
def delegate(
    to: str = typer.Argument(..., callback=address_argument, help="Who votes with your tokens."),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Let another address vote with your tokens (delegate to yourself to take them back)."""
    from dao_service.client.holdings import delegate as move

    signer = load_account(client, account)
    receipt = move(client, signer, to)
    if as_json:
        echo_json({"delegate": to, "tx": receipt["transactionHash"]})
    else:
        typer.echo(f"{signer.address} now votes through {to} (tx {receipt['transactionHash']}).")


@with_client
def claim(
    account: str = AccountOption,
    dataset: int | None = typer.Option(
        None, "--dataset", min=0, help="One dataset (default: every one you contributed to)."
    ),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Collect everything you may claim: income by score and by measured value, from every
    rental so far (one transaction per kind and dataset)."""
    from dao_service.client.governance import eth
    from dao_service.client.holdings import claim as collect

    signer = load_account(client, account)
    paid = collect(client, signer, dataset)
    if as_json:
        echo_json({"account": signer.address, "paid_wei": sum(paid.values()), "per_dataset": paid})
        return
    for dataset_id, wei in paid.items():
        typer.echo(f"Paid {eth(wei)} of dataset {dataset_id}'s income to {signer.address}.")


@with_client
def earnings(
    address: str | None = typer.Argument(None, callback=address_argument, help="An address."),
    account: str | None = OptionalAccount,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """What each rental paid you: by score, or by your data's measured value to the
    renter's sample.

    Income by score is read from the revenue pool's events; income by value from the
    tables the service published on IPFS, checked against the earnings roots on-chain.
    `datadao claim` collects everything claimable, both kinds, in one command."""
    from rich.console import Console

    from dao_service.client.income import income as read

    who = _address(client, address, account)
    found = read(client, who)
    if as_json:
        echo_json(found.as_json())
        return
    console = Console()
    if not found.rentals:
        console.print(f"No rental has paid {who} yet.", highlight=False)
        return
    from dao_service.client.accounts import AccountStore

    store = AccountStore(client.endpoints.accounts_dir, test_keys=client.is_local_chain())
    console.print(_income_table(found))
    console.print(_income_summary(found, account or store.name_of(who)), highlight=False)


@with_client
def withdraw(
    contribution_id: str = typer.Argument(..., help="The contribution id from its receipt."),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Withdraw a contribution: later rentals exclude it and its key is destroyed.

    It earns nothing more from later rentals; tokens already minted stay yours."""
    from dao_service.client.holdings import withdraw as withdraw_contribution

    done = withdraw_contribution(client, load_account(client, account), contribution_id)
    if as_json:
        echo_json(done)
    else:
        shredded = done.get("key_destruction")
        if shredded is None:
            typer.echo(f"Withdrew contribution {contribution_id}; its key is destroyed.")
        else:
            typer.echo(f"Withdrew contribution {contribution_id}: {shredded['summary']}.")
            for node, why in shredded["unconfirmed"].items():
                typer.echo(f"  {node} {why}; run the withdrawal again to ask it once more")


@with_client
def history(
    address: str | None = typer.Argument(None, callback=address_argument, help="An address."),
    account: str | None = OptionalAccount,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Every on-chain event that concerns an account, oldest first (contributions named by
    their id, as on their receipt, when the service knows them)."""
    from rich.console import Console
    from rich.table import Table

    from dao_service.client.holdings import contribution_ids, contribution_of, describe_event
    from dao_service.client.holdings import history as events

    who = _address(client, address, account)
    logs = events(client, who)
    ids = contribution_ids(client, who) if logs else {}
    if as_json:
        echo_json(
            [
                {
                    "block": log.block_number,
                    "contract": log.contract,
                    "event": log.event,
                    "args": log.args,
                    "tx": log.tx_hash,
                    "contribution_id": contribution_of(log, ids),
                    "summary": describe_event(log, ids),
                }
                for log in logs
            ]
        )
        return
    table = Table(title="History", caption=who)
    for column in ("block", "what"):
        table.add_column(column, overflow="fold")
    for log in logs:
        table.add_row(str(log.block_number), describe_event(log, ids))
    Console().print(table if logs else f"No events concern {who} yet.")


def register(app: typer.Typer) -> None:
    for command in (contribute, balance, earnings, delegate, claim, withdraw, history):
        app.command()(command)
