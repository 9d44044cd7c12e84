"""Options shared by several commands."""

from pathlib import Path
from typing import Any

import typer

from dao_service.core.config import Settings

DataDirOption = typer.Option(
    None,
    "--data-dir",
    help="Where the stack keeps chain state, IPFS repo, database, manifest and logs "
    "(default: $DATADAO_DATA_DIR, else ~/.local/share/datadao).",
    file_okay=False,
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def settings_from(data_dir: Path | None, **overrides: Any) -> Settings:
    """Settings from the environment, with the flags the user gave on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    return Settings(**given)
