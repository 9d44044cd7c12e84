"""`datadao custody migrate` on a deployment that stored contributions before it had
custody nodes: every file key goes to the nodes as shares, the old custody key is gone
from every file, and the renter fetches the same data through the nodes."""

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import DeploymentManifest
from dao_service.client.core import DaoClient, Endpoints
from dao_service.client.fetch import fetch_dataset
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from dao_service.models import Contribution
from dao_service.stack.sample_exports import reddit_export
from dao_service.storage.database import make_engine, session_factory
from dao_service.storage.ipfs import IpfsStore
from tests.api.conftest import wait_for_stage
from tests.custody.test_release import node_holdings
from tests.utils.chain import Dao
from tests.utils.custody import RELAYER, VALIDATOR, RunningNodes, running_nodes
from tests.utils.participants import contribute, request_keys
from tests.utils.processes import free_ports, run_cli

ALICE, RENTER = dev_account(2), dev_account(5)


def every_file(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_migrate_moves_every_key_to_the_nodes_and_destroys_the_custody_key(
    service_settings: Settings,
    stack_settings: Settings,
    manifest: DeploymentManifest,
    dao: Dao,
    ipfs: IpfsStore,
    tmp_path: Path,
) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(RENTER.address, 1, 3600))
    with TestClient(create_app()) as api:  # the service before custody nodes
        receipt = wait_for_stage(
            api, contribute(api, ALICE, reddit_export()).json()["id"], "minted"
        )
        assert len(request_keys(api, RENTER).json()["keys"]) == 1  # the service releases it
    get_settings.cache_clear()
    old_key = (service_settings.keys_dir / "custody.key").read_bytes()
    flags = ("--data-dir", str(service_settings.data_dir))

    refused = run_cli("custody", "migrate", *flags)  # no node set yet: nothing changes
    assert refused.returncode == 1
    assert "no custody node set on chain" in refused.stderr
    assert (service_settings.keys_dir / "custody.key").read_bytes() == old_key

    with running_nodes(stack_settings, manifest) as nodes:
        done = run_cli("custody", "migrate", *flags)
        assert done.returncode == 0, done.stdout + done.stderr
        said = " ".join(done.stdout.split())
        assert "Split 1 file keys among the custody nodes; they confirmed 3 shares" in said
        assert "The old custody key is destroyed" in said

        assert old_key not in every_file(service_settings.data_dir)
        assert (service_settings.keys_dir / "custody.key").read_bytes() != old_key
        engine = make_engine(service_settings.database_url)
        with session_factory(engine)() as session:
            assert session.scalars(select(Contribution.wrapped_key)).all() == [None]
        engine.dispose()
        assert [len(node_holdings(nodes, i)) for i in (1, 2, 3)] == [1, 1, 1]

        nodes.stop(1)
        client = DaoClient(
            Endpoints(service_settings.chain_rpc_url, "http://127.0.0.1:9",
                      service_settings.manifest_file, ipfs.api_url, tmp_path / "renter")
        )  # fmt: skip
        fetched = fetch_dataset(client, RENTER, 1, tmp_path / "rented", ipfs)
        assert [f.contribution_id for f in fetched.files] == [receipt["id"]]
        assert fetched.records == receipt["records"]


def test_propose_opens_a_vote_only_if_each_node_answers_with_its_key_and_the_vote_sets_it(
    custody_nodes: RunningNodes, stack_settings: Settings, dao: Dao, tmp_path: Path
) -> None:
    dao.contribute(dao.attestation(ALICE.address, 300), [VALIDATOR], RELAYER)  # votes to propose
    path = stack_settings.manifest_file
    flags = ["--manifest", str(path), "--rpc", stack_settings.chain_rpc_url,
             "--data-dir", str(tmp_path)]  # fmt: skip
    signer = ["--account", "test2"]  # ALICE, a test key on anvil's chain
    elsewhere = stack_settings.model_copy(
        update={"data_dir": tmp_path / "new-set", "custody_port": free_ports(3)}
    )
    with running_nodes(elsewhere, manifest=dao.manifest, on_chain=False) as new_nodes:
        given = [f"{n.url}={n.public_key}" for n in new_nodes.node_set.nodes]
        (url_1, key_1), (url_2, key_2) = (g.split("=") for g in given[:2])
        swapped = [f"{url_1}={key_2}", f"{url_2}={key_1}", given[2]]

        def propose(threshold: int, nodes: list[str]) -> Any:
            listed = [a for node in nodes for a in ("--node", node)]
            return run_cli("custody", "propose", *flags, *signer, "--json",
                           "--threshold", str(threshold), *listed)  # fmt: skip

        refused = propose(2, swapped)
        assert refused.returncode == 2
        assert "custody node 1" in refused.stderr and "another public key" in refused.stderr
        shared = propose(2, [given[0], given[0]])
        assert shared.returncode == 2 and "two custody nodes share a public key" in shared.stderr
        new_nodes.stop(3)
        down = propose(2, given)
        assert down.returncode == 2 and "custody node 3" in down.stderr
        assert "does not answer" in down.stderr
        new_nodes.start(3)
        opened = propose(3, given)
        assert opened.returncode == 0, opened.stderr
        proposal = json.loads(opened.stdout)
        assert proposal["epoch"] == 2 and proposal["threshold"] == 3
        assert dao.current_node_set() == custody_nodes.node_set  # nothing changes before the vote

        dao.open_vote(int(proposal["id"]))
        number = str(proposal["number"])
        voted = run_cli("vote", number, "for", *flags, *signer)
        assert voted.returncode == 0, voted.stderr
        dao.close_vote(int(proposal["id"]))
        assert run_cli("queue", number, *flags, *signer).returncode == 0
        dao.advance_time(dao.timelock.functions.getMinDelay().call() + 1)
        executed = run_cli("execute", number, *flags, *signer)
        assert executed.returncode == 0, executed.stderr

        # The CLI reads the sets from the chain: the manifest records none.
        assert "custody" not in json.loads(path.read_text())
        shown = run_cli("custody", "nodes", *flags, "--json")
        assert shown.returncode == 0, shown.stderr
        current = json.loads(shown.stdout)
        assert (current["epoch"], current["threshold"]) == (2, 3)
        assert [n["url"] for n in current["nodes"]] == [n.url for n in new_nodes.node_set.nodes]
        assert all(n["up"] for n in current["nodes"])
        earlier = json.loads(run_cli("custody", "nodes", *flags, "--json", "--epoch", "1").stdout)
        assert (earlier["epoch"], earlier["threshold"]) == (1, 2)
        assert [n["public_key"] for n in earlier["nodes"]] == [
            n.public_key for n in custody_nodes.node_set.nodes
        ]
