"""`datadao`: the command line of the data DAO.

One module per command group; `main` turns every DataDaoError into one red line and
exit code 1 (the traceback only with --verbose). Usage errors exit with 2.
"""

import sys

import typer
from rich.console import Console

from dao_service.cli import index as index_commands
from dao_service.cli import stack, validate
from dao_service.exceptions import DataDaoError

app = typer.Typer(
    name="datadao",
    help="A user-owned data DAO: run the local stack, contribute, vote, rent, claim.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stack.register(app)
validate.register(app)
index_commands.register(app)

error_console = Console(stderr=True)
_verbose = False


@app.callback()
def _options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors."),
) -> None:
    global _verbose
    _verbose = verbose


def main() -> None:
    """Usage errors (exit 2) and --help are click's; DataDaoError becomes one red line."""
    try:
        app()
    except DataDaoError as exc:
        if _verbose:
            error_console.print_exception()
        error_console.print(f"[bold red]error:[/] {exc.user_message}", highlight=False)
        sys.exit(1)
