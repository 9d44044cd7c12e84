"""`datadao platform publish`: the local stack's platform stand-in (Reddit, X)."""

from pathlib import Path

import typer

from dao_service.cli.options import DataDirOption, JsonOption, echo_json, settings_from

platform_app = typer.Typer(
    rich_markup_mode=None,
    help="The local stack's platform stand-in (Reddit, X), which spot-checks ask.",
    no_args_is_help=True,
)


@platform_app.command()
def publish(
    exports: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Export zips."),
    stand_in: str | None = typer.Option(
        None, "--stand-in", help="Stand-in URL (default: the running local stack's)."
    ),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Put the exports' items on the local stand-in, as if their accounts had posted them,
    so that the service's spot-checks find them. The local stand-in only."""
    from dao_service.client.platform_standin import publish_export
    from dao_service.stack.running import settings_of_running_stack

    url = stand_in or settings_of_running_stack(settings_from(data_dir)).platform_stand_in_url
    counts = {str(path): publish_export(url, path.read_bytes()) for path in exports}
    if as_json:
        echo_json({"stand_in": url, "published": counts})
        return
    for path, count in counts.items():
        typer.echo(f"{path}: {count} items on the stand-in at {url}")


def register(app: typer.Typer) -> None:
    app.add_typer(platform_app, name="platform")
