"""`datadao`: the command line of the data DAO.

One module per command group; `main` turns every DataDaoError into one red line and
exit code 1 (the traceback only with --verbose). Usage errors exit with 2.
"""

import sys

import typer
from rich.console import Console

from dao_service.cli import stack
from dao_service.exceptions import DataDaoError

app = typer.Typer(
    name="datadao",
    help="A user-owned data DAO: run the local stack, contribute, vote, rent, claim.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stack.register(app)

error_console = Console(stderr=True)
_verbose = False


@app.callback()
def _options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors."),
) -> None:
    global _verbose
    _verbose = verbose


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except DataDaoError as exc:
        if _verbose:
            error_console.print_exception()
        error_console.print(f"[bold red]error:[/] {exc.user_message}", highlight=False)
        sys.exit(1)
    except typer.Abort:
        error_console.print("Aborted.")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click's usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
