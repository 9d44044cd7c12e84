"""`datadao validate` (check an export locally before uploading) and `datadao code`."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dao_service.cli.options import DataDirOption, JsonOption, address_argument, settings_from

if TYPE_CHECKING:
    from rich.console import Console

    from dao_service.core.config import Settings
    from validators.report import ValidationReport

STATUS_STYLE = {
    "pass": "[green]pass[/]",
    "fail": "[red]fail[/]",
    "not_available": "[yellow]not available[/]",
}

WalletOption = typer.Option(
    ..., "--wallet", help="Your wallet address (0x...).", callback=address_argument
)
ChainIdOption = typer.Option(
    None, "--chain-id", help="Chain id of the DAO (default: the local stack's)."
)
RegistryOption = typer.Option(
    None, "--registry", help="ContributionRegistry address (default: the local stack's)."
)


def deployment(settings: "Settings", chain_id: int | None, registry: str | None) -> tuple[int, str]:
    """Chain id and registry from the flags, else from the running stack's manifest."""
    from eth_utils import is_address, to_checksum_address

    from dao_service.chain.manifest import load_manifest
    from dao_service.exceptions import ConfigurationError

    if chain_id is not None and registry is not None:
        if not is_address(registry):
            raise ConfigurationError(f"--registry {registry!r} is not an Ethereum address.")
        return chain_id, to_checksum_address(registry)
    try:
        manifest = load_manifest(settings.manifest_file)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{exc.user_message} Or give both --chain-id and --registry."
        ) from exc
    return chain_id or manifest.chain_id, registry or manifest.address_of("ContributionRegistry")


def code(
    wallet: str = WalletOption,
    chain_id: int | None = ChainIdOption,
    registry: str | None = RegistryOption,
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Print the verification code to post from your account before requesting the export.

    Post it as a comment or post (Reddit) or a tweet (X); once your export contains it,
    the export proves that the account holder bound the account to this wallet.
    """
    from rich.console import Console

    from validators import verification_code

    console = Console()
    cid, reg = deployment(settings_from(data_dir), chain_id, registry)
    value = verification_code(wallet, cid, reg)
    if as_json:
        typer.echo(
            f'{{"wallet": "{wallet}", "chain_id": {cid}, "registry": "{reg}", "code": "{value}"}}'
        )
        return
    console.print(f"Post this from your account, then request your export:\n\n  [bold]{value}[/]\n")
    console.print(f"It binds the account to {wallet} for the DAO at {reg} (chain {cid}).")


def validate(
    export: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, metavar="EXPORT", help="The export file."
    ),
    wallet: str = WalletOption,
    chain_id: int | None = ChainIdOption,
    registry: str | None = RegistryOption,
    require_code: bool = typer.Option(False, help="Reject exports without the verification code."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Check an export before uploading it: authenticity, ownership, new records, score.

    The export is checked as `datadao contribute` would upload it: only its public,
    self-authored files (the rest stays on your machine). Nothing is uploaded or recorded.
    Exit code 0: it would be accepted; 1: rejected (the reasons are printed); 2: usage error.
    """
    from rich.console import Console

    from dao_service.client.contribute import export_data
    from dao_service.storage.database import make_engine, migrate, session_factory
    from dao_service.storage.dedup_index import open_index
    from validators import ValidationContext, validate_export
    from validators.selection import published

    console = Console()
    settings = settings_from(data_dir)
    cid, reg = deployment(settings, chain_id, registry)
    engine = make_engine(settings.database_url)  # the service's index, in its database
    try:
        migrate(engine)
        index = open_index(engine, session_factory(engine))
        try:
            with console.status(f"Validating {export.name} ..."):
                report = validate_export(
                    export_data(export, published()).plaintext,
                    ValidationContext(
                        wallet=wallet, chain_id=cid, registry=reg, require_code=require_code
                    ),
                    index,
                ).report
        finally:
            index.close()
    finally:
        engine.dispose()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print(console, report)
    raise typer.Exit(0 if report.accepted else 1)


def _print(console: "Console", report: "ValidationReport") -> None:
    from rich.table import Table

    checks = Table(title=f"{report.source or 'unknown'} export", show_lines=False)
    for column in ("check", "result", "reason"):
        checks.add_column(column)
    for group, items in (("authenticity", report.authenticity), ("ownership", report.ownership)):
        for check in items:
            checks.add_row(f"{group}: {check.name}", STATUS_STYLE[check.status.value], check.reason)
    console.print(checks)
    if report.breakdown:
        score = Table(title="score")
        for column in ("signal", "value", "how"):
            score.add_column(column)
        for line in report.breakdown:
            score.add_row(line.signal, f"{line.value:g}", line.reason)
        console.print(score)
    if report.accepted:
        console.print(
            f"[green]Accepted[/]: score {report.score}, {report.new_records} new records."
        )
    else:
        console.print("[red]Rejected[/]:")
        for reason in report.rejection_reasons:
            console.print(f"  - {reason}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(code)
