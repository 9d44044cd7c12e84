"""`datadao up`, `datadao status`, `datadao down`: the local stack."""

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dao_service.cli.options import DataDirOption, JsonOption, settings_from

if TYPE_CHECKING:
    from rich.table import Table

    from dao_service.core.config import Settings


def _next_step(where: str) -> str:
    """What to do with a stack that is up; `where` is the `--data-dir` flag its commands
    need (empty for the default data directory)."""
    return (
        f"Next: `datadao demo{where}` runs the whole story (contribute, rent, vote, fetch, "
        "claim); `datadao --help` lists every command. To have `datadao` on your PATH: "
        f'export PATH="{Path(sys.executable).parent}:$PATH"'
    )


PORT_HELP = "Port on 127.0.0.1 for the {}."


def _urls_table(settings: "Settings") -> "Table":
    from rich.table import Table

    from dao_service.stack import custody_nodes, ipfs_node

    table = Table(title=f"Data DAO stack ({settings.data_dir})", show_header=True)
    table.add_column("part")
    table.add_column("address")
    table.add_row("chain (JSON-RPC)", settings.chain_rpc_url)
    table.add_row("IPFS RPC API", ipfs_node.api_http_url(settings))
    table.add_row("IPFS gateway", settings.ipfs_gateway_url)
    table.add_row("platform stand-in (Reddit, X)", settings.platform_stand_in_url)
    table.add_row("contracts manifest", str(settings.manifest_file))
    for index in range(1, settings.custody_nodes + 1):
        table.add_row(f"custody node {index}", custody_nodes.node_url(settings, index))
    table.add_row("web form", settings.service_url + "/")
    table.add_row("API docs", settings.service_url + "/docs")
    table.add_row("health", settings.service_url + "/healthz")
    table.add_row("logs", str(settings.logs_dir))
    return table


def up(
    data_dir: Path | None = DataDirOption,
    chain_port: int | None = typer.Option(None, help=PORT_HELP.format("chain (anvil)")),
    ipfs_port: int | None = typer.Option(None, help=PORT_HELP.format("IPFS RPC API")),
    gateway_port: int | None = typer.Option(None, help=PORT_HELP.format("IPFS gateway")),
    service_port: int | None = typer.Option(None, help=PORT_HELP.format("service")),
    platform_port: int | None = typer.Option(
        None, help=PORT_HELP.format("platform stand-in (Reddit, X)")
    ),
    custody_port: int | None = typer.Option(
        None, help="First port of the 3 custody nodes (consecutive; default 8101)."
    ),
    api_workers: int | None = typer.Option(
        None, "--api-workers", min=1, help="API processes (default: one per core)."
    ),
    detach: bool = typer.Option(
        False, "--detach", "-d", help="Run in the background; stop it with `datadao down`."
    ),
) -> None:
    """Start the whole local stack on loopback: chain, IPFS node, contracts, service.

    The chain and the IPFS repo live in the data directory, so a restart keeps the
    chain, its contracts and the stored files. Ctrl-C stops everything it started.
    Running it again while the stack is up just prints where everything is.
    """
    from rich.console import Console

    from dao_service.stack import running, supervisor

    console = Console()
    settings = settings_from(
        data_dir,
        chain_port=chain_port,
        ipfs_api_port=ipfs_port,
        ipfs_gateway_port=gateway_port,
        service_port=service_port,
        api_workers=api_workers,
        platform_port=platform_port,
        custody_port=custody_port,
    )
    if running.read_stack(settings) is not None:
        console.print("The stack is already running.")
        console.print(_urls_table(running.settings_of_running_stack(settings)))
        return
    if detach:
        argv = ["up", "--data-dir", str(settings.data_dir),
                "--chain-port", str(settings.chain_port),
                "--ipfs-port", str(settings.ipfs_api_port),
                "--gateway-port", str(settings.ipfs_gateway_port),
                "--service-port", str(settings.service_port),
                "--platform-port", str(settings.platform_port),
                "--custody-port", str(settings.custody_port),
                "--api-workers", str(settings.api_workers or os.cpu_count() or 1)]  # fmt: skip
        with console.status("Starting the stack in the background ..."):
            supervisor.start_detached(settings, argv)
        console.print(_urls_table(settings))
        where = f" --data-dir {settings.data_dir}" if data_dir else ""
        console.print(
            f"Running in the background; `datadao status{where}` checks it, "
            f"`datadao down{where}` stops it.",
            highlight=False,
            soft_wrap=True,  # a long path stays whole, to be copied
        )
        console.print(_next_step(where), highlight=False, soft_wrap=True)
        return

    def ready(_stack: dict[str, Any]) -> None:
        console.print(_urls_table(settings))
        console.print("[green]The stack is up.[/] Press Ctrl-C to stop it.")
        where = f" --data-dir {settings.data_dir}" if data_dir else ""
        console.print(_next_step(where), highlight=False, soft_wrap=True)

    supervisor.run_stack(
        settings, ready, log=lambda line: console.print(line, highlight=False, soft_wrap=True)
    )
    console.print("Stopped.")


def _probe(settings: "Settings") -> dict[str, dict[str, Any]]:
    import requests
    from web3 import Web3

    from dao_service.chain.connection import contracts_without_code
    from dao_service.chain.manifest import load_manifest
    from dao_service.exceptions import DataDaoError
    from dao_service.stack import chain_node, custody_nodes, ipfs_node

    parts: dict[str, dict[str, Any]] = {}
    chain_id = chain_node.chain_answers(settings.chain_rpc_url)
    parts["chain"] = {
        "up": chain_id is not None,
        "address": settings.chain_rpc_url,
        "detail": f"chain id {chain_id}" if chain_id is not None else "no answer",
    }
    version = ipfs_node.ipfs_answers(ipfs_node.api_http_url(settings))
    parts["ipfs"] = {
        "up": version is not None,
        "address": ipfs_node.api_http_url(settings),
        "detail": f"version {version}" if version else "no answer",
    }
    contracts: dict[str, Any] = {"up": False, "address": str(settings.manifest_file)}
    try:
        manifest = load_manifest(settings.manifest_file)
        if chain_id is None:
            contracts["detail"] = "chain is down"
        elif chain_id != manifest.chain_id:
            contracts["detail"] = f"manifest is for chain {manifest.chain_id}"
        else:
            w3 = Web3(Web3.HTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": 3}))
            missing = contracts_without_code(w3, manifest)
            live = len(manifest.contracts) - len(missing)
            contracts["up"] = not missing
            contracts["detail"] = f"{live}/{len(manifest.contracts)} contracts have code"
            contracts["contracts"] = {n: c.address for n, c in manifest.contracts.items()}
    except DataDaoError as exc:
        contracts["detail"] = exc.user_message
    parts["contracts"] = contracts
    try:
        reply = requests.get(settings.service_url + "/healthz", timeout=5)
        parts["service"] = {
            "up": reply.status_code == 200,
            "address": settings.service_url,
            "detail": reply.json().get("status", str(reply.status_code)),
        }
    except (requests.RequestException, ValueError):
        parts["service"] = {"up": False, "address": settings.service_url, "detail": "no answer"}
    for number, url in enumerate(settings.co_validator_urls, 1):
        try:
            reply = requests.get(url + "/api/validator", timeout=5)
            parts[f"validator node {number}"] = {
                "up": reply.status_code == 200,
                "address": url,
                "detail": reply.json().get("address") or reply.json().get("detail", ""),
            }
        except (requests.RequestException, ValueError):
            parts[f"validator node {number}"] = {"up": False, "address": url, "detail": "no answer"}
    for index in range(1, settings.custody_nodes + 1):
        url = custody_nodes.node_url(settings, index)
        try:
            held = requests.get(url + "/healthz", timeout=5).json()["shares_held"]
            parts[f"custody node {index}"] = {"up": True, "address": url,
                                              "detail": f"{held} shares held"}  # fmt: skip
        except (requests.RequestException, ValueError, KeyError, TypeError):
            parts[f"custody node {index}"] = {"up": False, "address": url, "detail": "no answer"}
    return parts


def status(
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Show each part of the stack (chain, IPFS, contracts, service) as up or down.

    Exits 0 when every part is up, 1 otherwise, so scripts can wait on it.
    """
    from rich.console import Console
    from rich.table import Table

    from dao_service.stack import running

    settings = running.settings_of_running_stack(settings_from(data_dir))
    parts = _probe(settings)
    all_up = all(p["up"] for p in parts.values())
    if as_json:
        print(
            json.dumps({"up": all_up, "data_dir": str(settings.data_dir), "parts": parts}, indent=2)
        )
    else:
        table = Table(title=f"Data DAO stack ({settings.data_dir})")
        for column in ("part", "state", "address", "detail"):
            table.add_column(column)
        for name, part in parts.items():
            state = "[green]up[/]" if part["up"] else "[red]down[/]"
            table.add_row(name, state, part["address"], part["detail"])
        Console().print(table)
    raise typer.Exit(0 if all_up else 1)


def down(data_dir: Path | None = DataDirOption) -> None:
    """Stop a stack started with `datadao up --detach` (chain state and files are kept)."""
    from rich.console import Console

    from dao_service.stack import supervisor

    console = Console()
    settings = settings_from(data_dir)
    started = time.monotonic()
    if supervisor.stop_stack(settings):
        console.print(
            f"Stopped the stack of {settings.data_dir} in {time.monotonic() - started:.1f} s."
        )
    else:
        console.print(f"No stack is running for {settings.data_dir}.")


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(status)
    app.command()(down)
