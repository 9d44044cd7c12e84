"""`datadao custody nodes / propose / migrate`: the deployment's custody nodes as the chain
records them, a vote for a new set, and moving the contributions stored before them into
their custody."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dao_service.cli.options import (
    AccountOption,
    DataDirOption,
    JsonOption,
    echo_json,
    load_account,
    settings_from,
    with_client,
)

if TYPE_CHECKING:
    from dao_service.client.core import DaoClient

custody_app = typer.Typer(help="The custody nodes that hold the shares of every file key.")


@with_client
def nodes(
    epoch: int | None = typer.Option(
        None, "--epoch", min=1, help="An earlier node set (default: the current one)."
    ),
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """The deployment's custody nodes (M of N) as the chain records them (CustodyNodeSet),
    each with whether it answers and how many shares it holds. Exit code 1 if fewer than
    M answer."""
    from rich.console import Console
    from rich.table import Table

    from dao_service.core.node_probe import probe_nodes

    node_set = client.custody_nodes(epoch)
    if node_set is None:
        raise typer.BadParameter(
            "the deployment has no custody node set on chain yet (a vote sets one: "
            "`datadao custody propose`)"
        )
    probes = probe_nodes([(n.url, n.public_key) for n in node_set.nodes], timeout=5)
    answering = sum(p.up for p in probes)
    if as_json:
        rows = [
            {"index": index, "url": node.url, "up": probe.up, "detail": probe.detail,
             "public_key": node.public_key}
            for index, (node, probe) in enumerate(zip(node_set.nodes, probes, strict=True), 1)
        ]  # fmt: skip
        echo_json({"epoch": node_set.epoch, "threshold": node_set.threshold, "nodes": rows})
    else:
        table = Table(
            title=f"Custody node set {node_set.epoch}: any {node_set.threshold} of "
            f"{len(probes)} give a key"
        )
        for column in ("node", "address", "state", "detail"):
            table.add_column(column)
        for index, probe in enumerate(probes, start=1):
            state = "[green]up[/]" if probe.up else "[red]down[/]"
            table.add_row(str(index), probe.url, state, probe.detail)
        Console().print(table)
    raise typer.Exit(0 if answering >= node_set.threshold else 1)


@with_client
def propose(
    nodes: list[str] = typer.Option(
        ..., "--node", help="A node as URL=PUBLIC_KEY (hex, uncompressed); once per node, in order."
    ),
    threshold: int = typer.Option(..., "--threshold", min=1, help="M: shares that give a key."),
    description: str = typer.Option(
        "", "--description", help="Why (default: a line naming the new set)."
    ),
    account: str = AccountOption,
    as_json: bool = JsonOption,
    *,
    client: "DaoClient",
) -> None:
    """Propose a new custody node set (M of N) to the DAO, after checking that each node
    answers with the public key given for it.

    Once the vote passes and the proposal is executed (`datadao queue`, `datadao
    execute`), new contributions are split for the new set; earlier ones stay with the
    set they were split for, whose nodes keep serving them."""
    import requests

    from dao_service.chain.custody_set import CustodyNodeSet, as_arguments, parse_node
    from dao_service.client.governance import get_proposal
    from dao_service.client.governance import propose as open_proposal

    try:
        listed = [parse_node(given) for given in nodes]
        current = client.custody_nodes()
        node_set = CustodyNodeSet(
            epoch=(current.epoch if current else 0) + 1, threshold=threshold, nodes=listed
        )
    except ValueError as exc:  # pydantic's ValidationError is one
        raise typer.BadParameter(str(exc)) from exc
    sets = client.contract("CustodyNodeSet")
    least = int(sets.call("minThreshold"))
    if threshold < least:  # the contract would refuse it when the proposal is executed
        raise typer.BadParameter(f"--threshold {threshold}: this deployment needs at least {least}")
    for index, node in enumerate(node_set.nodes, start=1):
        try:
            answered = requests.get(f"{node.url.rstrip('/')}/healthz", timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            raise typer.BadParameter(f"{node_set.named(index)} does not answer") from exc
        if answered.get("public_key") != node.public_key:
            raise typer.BadParameter(
                f"{node_set.named(index)} answers with another public key than the one given"
            )
    calldata = sets.data("setNodeSet", threshold, as_arguments(node_set.nodes))
    description = description or (
        f"Custody node set {node_set.epoch}: any {threshold} of "
        f"{', '.join(n.url for n in node_set.nodes)}"
    )
    signer = load_account(client, account)
    proposal_id = open_proposal(
        client, signer, [(sets.address, 0, bytes.fromhex(calldata[2:]))], description
    )
    proposal = get_proposal(client, proposal_id)
    if as_json:
        echo_json({"number": proposal.number, "id": str(proposal.id), **node_set.model_dump()})
    else:
        typer.echo(
            f"Opened proposal #{proposal.number} (id {proposal.id}): custody node set "
            f"{node_set.epoch}, any {threshold} of {len(node_set.nodes)} nodes."
        )


def migrate(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Split every file key still wrapped under the custody key among the custody nodes,
    then destroy the custody key.

    Contributions stored before the deployment had custody nodes are released by the
    service alone; after this, only M nodes together can. It is the one step where one
    process holds every file key (in memory, one at a time). Run it once, with the
    service stopped, on the service's machine. Shares for a node that is down wait,
    sealed to it, and the worker delivers them when it is back."""
    from rich.console import Console

    from dao_service.intake.custody_migration import migrate as migrate_keys
    from dao_service.runtime import open_runtime

    console = Console(stderr=as_json)
    settings = settings_from(data_dir)
    if settings.custody_key:
        raise typer.BadParameter(
            "DATADAO_CUSTODY_KEY is set: this command destroys the custody key file only; "
            "unset it (and keep the key file in its place) before migrating"
        )
    with open_runtime(settings) as runtime:
        chain = runtime.chain()
        with console.status("Splitting file keys ...") as status:
            summary = migrate_keys(
                runtime.sessions,
                runtime.custody,
                settings.keys_dir / "custody.key",
                chain.custody_nodes,
                chain.validator,
                lambda public_id: status.update(f"Splitting the key of {public_id} ..."),
            )
    if as_json:
        echo_json(summary.__dict__)
        return
    console.print(
        f"Split {len(summary.split)} file keys among the custody nodes; they confirmed "
        f"{summary.delivered} shares ({summary.waiting} wait, sealed to their node, for the "
        "worker to deliver). The old custody key is destroyed"
        + (
            f"; {summary.samples} validation samples moved to the new one."
            if summary.samples
            else "."
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    custody_app.command()(nodes)
    custody_app.command()(propose)
    custody_app.command()(migrate)
    app.add_typer(custody_app, name="custody")
