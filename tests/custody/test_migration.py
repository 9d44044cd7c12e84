"""`datadao custody migrate` on a deployment that stored contributions before it had
custody nodes: every file key goes to the nodes as shares, the old custody key is gone
from every file, and the renter fetches the same data through the nodes."""

from pathlib import Path

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
from tests.utils.custody import RunningNodes, running_nodes
from tests.utils.participants import contribute, request_keys
from tests.utils.processes import run_cli

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
    assert "records no custody nodes" in refused.stderr
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


def test_record_writes_the_node_set_only_if_each_node_answers_with_its_key(
    custody_nodes: RunningNodes, stack_settings: Settings
) -> None:
    from dao_service.chain.manifest import load_manifest

    path = stack_settings.manifest_file
    recorded = load_manifest(path).custody
    assert recorded is not None
    flags = ["--manifest", str(path), "--rpc", stack_settings.chain_rpc_url]
    given = [f"{n.url}={n.public_key}" for n in recorded.nodes]
    (url_1, key_1), (url_2, key_2) = (g.split("=") for g in given[:2])
    swapped = [f"{url_1}={key_2}", f"{url_2}={key_1}", given[2]]
    refused = run_cli("custody", "record", *flags, "--threshold", "2",
                      *[a for node in swapped for a in ("--node", node)])  # fmt: skip
    assert refused.returncode == 2
    assert "custody node 1" in refused.stderr and "another public key" in refused.stderr
    shared = run_cli("custody", "record", *flags, "--threshold", "2",
                     *[a for node in (given[0], given[0]) for a in ("--node", node)])  # fmt: skip
    assert shared.returncode == 2 and "two custody nodes share a public key" in shared.stderr
    custody_nodes.stop(3)
    down = run_cli("custody", "record", *flags, "--threshold", "2",
                   *[a for node in given for a in ("--node", node)])  # fmt: skip
    assert down.returncode == 2 and "custody node 3" in down.stderr
    assert "does not answer" in down.stderr
    custody_nodes.start(3)
    done = run_cli("custody", "record", *flags, "--threshold", "3",
                   *[a for node in given for a in ("--node", node)])  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = load_manifest(path).custody
    assert after is not None and after.threshold == 3 and after.nodes == recorded.nodes
