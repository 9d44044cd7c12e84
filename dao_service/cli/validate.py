"""`datadao validate` (check an export locally before uploading) and `datadao code`."""

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def service_settings(settings: "Settings") -> "Settings":
    """The settings the service validates with: a local stack running for this data
    directory runs its service with the platform stand-in and the local relaxations
    (`dao_service.stack.supervisor.service_env`); otherwise `settings` (DATADAO_*)."""
    from dao_service.core.config import Settings
    from dao_service.stack.running import read_stack, settings_of_running_stack

    if read_stack(settings) is None:
        return settings
    from dao_service.stack.supervisor import service_env

    env = service_env(settings_of_running_stack(settings))
    fields: dict[str, Any] = {name.removeprefix("DATADAO_").lower(): v for name, v in env.items()}
    return Settings(**fields)


def validate(
    export: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, metavar="EXPORT", help="The export file."
    ),
    wallet: str = WalletOption,
    chain_id: int | None = ChainIdOption,
    registry: str | None = RegistryOption,
    require_code: bool = typer.Option(
        False, help="Reject exports without the verification code (as the service does when set)."
    ),
    will_sign_in: bool = typer.Option(
        False,
        "--will-sign-in",
        help="You will sign in with the platform as the export's account when you contribute "
        "(`datadao contribute --sign-in`): that sign-in is then the ownership proof.",
    ),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Check an export before uploading it, with the service's checks: authenticity (the
    platform spot-check included), ownership, new records, score.

    The export is checked as `datadao contribute` would upload it: only its public,
    self-authored files (the rest stays on your machine). Its items are looked up on the
    platform at DATADAO_REDDIT_API_URL / DATADAO_X_OEMBED_URL (a running local stack's
    stand-in); a platform that cannot be reached is reported, and rejects where the
    service requires the check. Nothing is uploaded or recorded.
    Exit code 0: it would be accepted; 1: rejected (the reasons are printed); 2: usage error.
    """
    from rich.console import Console

    from dao_service.client.contribute import export_data
    from dao_service.storage.database import make_engine, migrate, session_factory
    from dao_service.storage.dedup_index import open_index
    from validators import ValidationContext, validate_export
    from validators.selection import published

    console = Console()
    settings = service_settings(settings_from(data_dir))
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
                        wallet=wallet,
                        chain_id=cid,
                        registry=reg,
                        require_code=require_code or settings.require_verification_code,
                        require_proof=settings.require_ownership_proof and not will_sign_in,
                        # The sample of items looked up: random here (the service seeds it
                        # with a secret of its own, so it may look up other items).
                        nonce=secrets.token_hex(16),
                        sample_key=secrets.token_bytes(32),
                        platform=settings.platform_policy(),
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
    spot = next((c for c in report.authenticity if c.name == "platform spot-check"), None)
    if spot is not None and spot.status.value == "not_available":
        console.print(f"[yellow]The platform spot-check did not run[/]: {spot.reason}.")
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
