"""`datadao`: the command line of the data DAO.

One module per command group, each importing what it needs inside its commands, so that
`datadao --help` starts fast. `main` turns every DataDaoError into one red line and exit
code 1 (the traceback only with --verbose, which may stand anywhere on the line). Usage
errors exit with 2.
"""

import sys

import typer

from dao_service.cli import (
    accounts,
    chain,
    custody,
    demo,
    governance,
    holdings,
    index,
    platform_standin,
    rent,
    stack,
    validate,
)

app = typer.Typer(
    rich_markup_mode=None,
    name="datadao",
    help="A user-owned data DAO: run the local stack, contribute, vote, rent, claim.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for group in (
    stack,
    validate,
    holdings,
    governance,
    rent,
    accounts,
    chain,
    custody,
    demo,
    index,
    platform_standin,
):
    group.register(app)

VERBOSE_FLAGS = ("-v", "--verbose")


@app.callback()
def _options(
    verbose: bool = typer.Option(
        False, *VERBOSE_FLAGS, help="Show tracebacks on errors (also after the subcommand)."
    ),
) -> None:
    """Options that apply to every command."""


def main() -> None:
    """Usage errors (exit 2) and --help are click's; DataDaoError becomes one red line."""
    from dao_service.exceptions import DataDaoError

    args = sys.argv[1:]
    cut = args.index("--") if "--" in args else len(args)
    verbose = any(a in VERBOSE_FLAGS for a in args[:cut])
    args = [a for a in args[:cut] if a not in VERBOSE_FLAGS] + args[cut:]
    try:
        app(args=args, prog_name="datadao")
    except DataDaoError as exc:
        from rich.console import Console

        error_console = Console(stderr=True)
        if verbose:
            error_console.print_exception()
        # soft_wrap: the terminal wraps the line, so a command in it copies whole
        error_console.print(
            f"[bold red]error:[/] {exc.user_message}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
