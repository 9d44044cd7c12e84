"""Options and argument types shared by the commands.

Nothing heavy is imported at module level: `datadao --help` must stay fast, so settings,
the client library and the crypto libraries load inside the commands that use them.
"""

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient
    from dao_service.core.config import Settings
    from dao_service.storage.ipfs import IpfsStore

F = TypeVar("F", bound=Callable[..., Any])

DataDirOption = typer.Option(
    None,
    "--data-dir",
    help="Where the stack keeps chain state, IPFS repo, database, manifest, accounts and logs "
    "(default: $DATADAO_DATA_DIR, else ~/.local/share/datadao).",
    file_okay=False,
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")
AccountOption = typer.Option(
    ...,
    "--account",
    "-a",
    help="The account that signs: a name from `datadao account list` (test0…test9 are "
    "anvil's test keys on a local chain). Its password comes from a prompt or $DATADAO_PASSWORD.",
)


def settings_from(data_dir: Path | None, **overrides: Any) -> "Settings":
    """Settings from the environment, with the flags the user gave on top."""
    from dao_service.core.config import Settings

    given = {name: value for name, value in overrides.items() if value is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    return Settings(**given)


# The flags that select a deployment; every command that talks to the DAO takes them.
_DEPLOYMENT_PARAMETERS = [
    ("rpc", typer.Option(None, "--rpc", help="Chain JSON-RPC URL (default: the local stack's).")),
    (
        "service",
        typer.Option(None, "--service", help="Service URL (default: the local stack's)."),
    ),
    (
        "manifest",
        typer.Option(
            None,
            "--manifest",
            help="Deployment manifest (default: the local stack's).",
            dir_okay=False,
        ),
    ),
    (
        "ipfs",
        typer.Option(None, "--ipfs", help="IPFS (Kubo) RPC API (default: the local stack's)."),
    ),
    ("data_dir", DataDirOption),
]


def build_client(
    rpc: str | None = None,
    service: str | None = None,
    manifest: Path | None = None,
    ipfs: str | None = None,
    data_dir: Path | None = None,
) -> "DaoClient":
    """The deployment the flags name; unnamed parts come from the running local stack."""
    from dao_service.client.core import DaoClient, Endpoints
    from dao_service.stack.running import settings_of_running_stack

    settings = settings_of_running_stack(settings_from(data_dir))
    return DaoClient(
        Endpoints(
            rpc_url=rpc or settings.chain_rpc_url,
            service_url=service or settings.service_url,
            manifest_path=manifest or settings.manifest_file,
            ipfs_api_url=ipfs or settings.ipfs_api_url,
            data_dir=settings.data_dir,
        )
    )


def ipfs_of(client: "DaoClient") -> "IpfsStore":
    """The deployment's IPFS node, which a renter's fetch reads the ciphertexts from."""
    from dao_service.storage.ipfs import IpfsStore

    return IpfsStore(client.endpoints.ipfs_api_url, timeout=60)


def with_client(command: F) -> F:
    """Give `command` the deployment flags and call it with `client=DaoClient(...)`."""
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != "client"]
    types = {  # the flags' types are build_client's parameters'
        name: p.annotation for name, p in inspect.signature(build_client).parameters.items()
    }
    added = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=types[name]
        )
        for name, option in _DEPLOYMENT_PARAMETERS
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {name: kwargs.pop(name) for name, _ in _DEPLOYMENT_PARAMETERS}
        return command(*args, client=build_client(**flags), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **{k: v for k, v in command.__annotations__.items() if k != "client"},
        **{name: types[name] for name, _ in _DEPLOYMENT_PARAMETERS},
    }
    return wrapper  # type: ignore[return-value]


def load_account(client: "DaoClient", name: str) -> Any:
    """The account `name` signs with; its password from $DATADAO_PASSWORD or a prompt."""
    from dao_service.client.accounts import AccountStore, password_from_env

    store = AccountStore(client.endpoints.accounts_dir, test_keys=client.is_local_chain())

    def password() -> str:
        given = password_from_env()
        if given is not None:
            return given
        return str(typer.prompt(f"Password for {name}", hide_input=True))

    return store.load(name, password)


def address_argument(value: str | None) -> str | None:
    """A typer callback: an Ethereum address, checksummed, or a usage error."""
    if value is None:
        return None
    from eth_utils import is_address, to_checksum_address

    if not is_address(value):
        raise typer.BadParameter(
            f"{value!r} is not an Ethereum address (0x followed by 40 hex digits)."
        )
    return str(to_checksum_address(value))


def echo_json(value: Any) -> None:
    import json

    typer.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
