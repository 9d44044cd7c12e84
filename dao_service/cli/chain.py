"""`datadao chain advance`: move a local chain's blocks and clock forward (anvil only)."""

import re
from typing import TYPE_CHECKING

import typer

from dao_service.cli.options import JsonOption, address_argument, echo_json, with_client

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient

chain_app = typer.Typer(
    rich_markup_mode=None, help="The local development chain.", no_args_is_help=True
)
UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def _seconds(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+)([smhdw]?)", value.strip())
    if not match:
        raise typer.BadParameter(f"{value!r}: give a time like 90s, 30m, 2h, 2d or 1w.")
    return int(match.group(1)) * UNITS[match.group(2) or "s"]


@chain_app.command()
@with_client
def advance(
    blocks: int = typer.Option(0, "--blocks", min=0, help="Mine this many blocks."),
    time: str | None = typer.Option(None, "--time", help="Move the clock: 90s, 30m, 2h, 2d, 1w."),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Mine blocks and/or move the clock forward, to end a vote or a timelock delay.

    Only on anvil's local chain: any other chain refuses.
    """
    from dao_service.client.devchain import advance as move

    seconds = _seconds(time)
    if not blocks and not seconds:
        raise typer.BadParameter("give --blocks N and/or --time DURATION")
    number, stamp = move(client, blocks, seconds or 0)
    if as_json:
        echo_json({"block": number, "timestamp": stamp})
    else:
        from dao_service.client.timefmt import utc

        typer.echo(f"The chain is at block {number}, {utc(stamp)}.")


@chain_app.command()
@with_client
def fund(
    address: str = typer.Argument(..., callback=address_argument, help="Who gets test ETH."),
    eth: float = typer.Option(100.0, "--eth", min=0.0, help="How much test ETH to add."),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Add test ETH to an address on the local chain (for a new account, e.g. a renter's).

    Only on anvil's local chain: any other chain refuses.
    """
    from decimal import Decimal

    from dao_service.client.devchain import fund as add
    from dao_service.client.governance import eth as show

    wei = int(Decimal(str(eth)) * 10**18)
    balance = add(client, address, wei)
    if as_json:
        echo_json({"address": address, "added_wei": wei, "balance_wei": balance})
    else:
        typer.echo(
            f"Added {show(wei)} to {address}: it now holds {show(balance)} "
            "(test ETH, local chain only)."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(chain_app, name="chain")
