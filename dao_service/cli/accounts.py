"""`datadao account new | import | list`: the keys the command line signs with."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dao_service.cli.options import DataDirOption, JsonOption, echo_json

if TYPE_CHECKING:
    from dao_service.client.accounts import AccountStore

account_app = typer.Typer(
    rich_markup_mode=None,
    help="Accounts: Web3 Secret Storage keystores, ape's too, and anvil's test keys.",
    no_args_is_help=True,
)


def _store(data_dir: Path | None) -> "AccountStore":
    from dao_service.chain.manifest import load_manifest
    from dao_service.cli.options import settings_from
    from dao_service.client.accounts import AccountStore
    from dao_service.client.core import ANVIL_CHAIN_ID
    from dao_service.exceptions import ConfigurationError
    from dao_service.stack.running import settings_of_running_stack

    settings = settings_of_running_stack(settings_from(data_dir))
    try:
        local = load_manifest(settings.manifest_file).chain_id == ANVIL_CHAIN_ID
    except ConfigurationError:
        local = False
    return AccountStore(settings.data_dir / "accounts", test_keys=local)


def _new_password() -> str:
    from dao_service.client.accounts import password_from_env

    given = password_from_env()
    if given is not None:
        return given
    return str(
        typer.prompt("Password for the new keystore", hide_input=True, confirmation_prompt=True)
    )


@account_app.command("new")
def new(
    name: str = typer.Argument(..., help="A name for the account."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a new key, kept encrypted under a password (prompted, or $DATADAO_PASSWORD)."""
    store = _store(data_dir)
    info = store.new(name, _new_password())
    if as_json:
        echo_json({"name": info.name, "address": info.address})
    else:
        typer.echo(f"Created {info.name}: {info.address} (keystore in {store.folder}).")


@account_app.command("import")
def import_(
    name: str = typer.Argument(..., help="A name for the account."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a private key (asked for, never a command-line argument), kept encrypted."""
    store = _store(data_dir)
    key = str(typer.prompt("Private key (hex)", hide_input=True))
    info = store.import_key(name, key, _new_password())
    if as_json:
        echo_json({"name": info.name, "address": info.address})
    else:
        typer.echo(f"Imported {info.name}: {info.address}.")


@account_app.command("list")
def list_(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Every account you can sign with, and on a local chain what each test key is for."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    accounts = _store(data_dir).list()
    if as_json:
        echo_json([asdict(a) for a in accounts])
        return
    if not accounts:
        typer.echo("No accounts yet. Create one with: datadao account new NAME")
        return
    table = Table(title="Accounts")
    for column in ("name", "address", "kind", "role"):
        table.add_column(column, overflow="fold")
    for account in accounts:
        kind = account.kind
        if kind == "anvil test key":
            kind = "[yellow]anvil test key[/]"
            table.caption = "anvil test keys are public: a local chain only, never real funds"
        table.add_row(account.name, account.address, kind, account.role)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
