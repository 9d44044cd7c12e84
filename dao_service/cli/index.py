"""`datadao index rebuild`: re-derive the dedup index from the stored contributions
(the work is the service's, `intake.rebuild_index`; this shows its progress)."""

from pathlib import Path

import typer

from dao_service.cli.options import DataDirOption, settings_from

app = typer.Typer(rich_markup_mode=None, help="The validator's dedup index.", no_args_is_help=True)


@app.command()
def rebuild(data_dir: Path | None = DataDirOption) -> None:
    """Re-derive the dedup index (format and sketch of this version) from every accepted
    contribution, decrypted in memory; replaces the old index when done."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from dao_service.intake.rebuild_index import rebuild_index
    from validators import FORMAT_VERSION

    console = Console()
    settings = settings_from(data_dir)
    columns = (TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        rebuilt = rebuild_index(settings, progress.track)
    console.print(
        f"Rebuilt the dedup index (format {FORMAT_VERSION}): {rebuilt.indexed} contributions, "
        f"{rebuilt.records:,} records; {rebuilt.skipped} skipped (withdrawn or unreadable)."
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="index")
