"""scripts/deploy.py on a real anvil: wiring, no deployer powers, idempotent reuse."""

import json
import os
import subprocess
import sys
from pathlib import Path

from web3 import Web3

from dao_service.chain import connection
from dao_service.chain.custody_set import from_chain
from dao_service.chain.dev_accounts import (
    CO_VALIDATOR_INDEXES,
    DEPLOYER_INDEX,
    VALIDATOR_INDEX,
    dev_account,
)
from dao_service.chain.manifest import DeploymentManifest, load_manifest
from dao_service.core import paths
from dao_service.core.shares import new_node_key, node_public_key
from tests.utils.processes import running_anvil, settings_for


def run_deploy(
    rpc_url: str, manifest: Path, cache: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(paths.PROJECT_ROOT / "scripts" / "deploy.py"),
         "--rpc-url", rpc_url, "--manifest", str(manifest), "--build-cache", str(cache), *flags],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_deployment_is_wired_and_the_deployer_keeps_no_power(
    w3: Web3, manifest: DeploymentManifest
) -> None:
    deployer = dev_account(DEPLOYER_INDEX).address
    timelock = connection.contract(w3, manifest, "DataTimelock")
    for role in ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "CANCELLER_ROLE"):
        assert not timelock.functions.hasRole(
            getattr(timelock.functions, role)().call(), deployer
        ).call()
    assert timelock.functions.hasRole(
        timelock.functions.EXECUTOR_ROLE().call(), Web3.to_checksum_address("0x" + "00" * 20)
    ).call()
    for name in ("ContributionRegistry", "AccessRegistry"):
        assert connection.contract(
            w3, manifest, name
        ).functions.owner().call() == manifest.address_of("DataTimelock")
    assert connection.contract(
        w3, manifest, "DataToken"
    ).functions.minter().call() == manifest.address_of("ContributionRegistry")


def test_deploy_script_writes_a_manifest_and_reuses_it(anvil_url: str, tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    nodes = [f"http://127.0.0.1:{9000 + i}={node_public_key(new_node_key())}" for i in range(3)]
    custody = ("--custody-threshold", "2", *[a for n in nodes for a in ("--custody-node", n)])
    first = run_deploy(anvil_url, path, tmp_path / "build", *custody)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Deploying" in first.stdout
    manifest = load_manifest(path)
    assert manifest.chain_id == 31337
    assert set(manifest.contracts) == {
        "DataToken", "DataTimelock", "DataGovernor", "AccessRegistry",
        "RevenuePool", "ContributionRegistry", "RentalEscrow", "CustodyNodeSet",
    }  # fmt: skip
    w3 = connection.connect(anvil_url)
    # On anvil: the service's validator and the local stack's two co-validator nodes, 2 of 3.
    registry = connection.contract(w3, manifest, "ContributionRegistry").functions
    for index in (VALIDATOR_INDEX, *CO_VALIDATOR_INDEXES):
        assert registry.isValidator(dev_account(index).address).call()
    assert registry.validatorCount().call() == 3 and registry.requiredSignatures().call() == 2
    # The given nodes are the first custody node set, the timelock's to change.
    sets = connection.contract(w3, manifest, "CustodyNodeSet").functions
    current = from_chain(*sets.currentNodeSet().call())
    assert current is not None and (current.epoch, current.threshold) == (1, 2)
    assert [f"{n.url}={n.public_key}" for n in current.nodes] == nodes
    assert sets.owner().call() == manifest.address_of("DataTimelock")
    nonce = w3.eth.get_transaction_count(manifest.deployer)

    second = run_deploy(anvil_url, path, tmp_path / "build", *custody)
    assert second.returncode == 0, second.stderr
    assert "Reusing the deployment" in second.stdout
    assert w3.eth.get_transaction_count(manifest.deployer) == nonce  # nothing sent
    assert load_manifest(path) == manifest

    # A deployment from before the node set was on chain is deployed afresh.
    old = json.loads(path.read_text())
    del old["contracts"]["CustodyNodeSet"]
    old["custody"] = {"threshold": 2, "nodes": []}  # where it was kept then: ignored
    path.write_text(json.dumps(old))
    third = run_deploy(anvil_url, path, tmp_path / "build", *custody)
    assert third.returncode == 0 and "Deploying" in third.stdout, third.stderr
    assert "CustodyNodeSet" in load_manifest(path).contracts
    assert "custody" not in json.loads(path.read_text())


def test_a_manifest_from_another_chain_is_replaced(anvil_url: str, tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    assert run_deploy(anvil_url, path, tmp_path / "build").returncode == 0
    stale = json.loads(path.read_text())
    stale["contracts"]["DataToken"]["address"] = "0x" + "11" * 20  # no code there
    path.write_text(json.dumps(stale))
    again = run_deploy(anvil_url, path, tmp_path / "build")
    assert again.returncode == 0 and "Deploying" in again.stdout
    assert load_manifest(path).contracts["DataToken"].address != "0x" + "11" * 20


def test_unreachable_chain_is_a_clear_error(tmp_path: Path) -> None:
    result = run_deploy("http://127.0.0.1:9", tmp_path / "m.json", tmp_path / "build")
    assert result.returncode == 1
    assert "does not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_profiles_on_a_chain_that_is_not_anvils(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data").model_copy(update={"chain_id": 5151})
    deployer = dev_account(DEPLOYER_INDEX)
    key = {"DATADAO_DEPLOYER_KEY": deployer.key.hex()}
    validators = [dev_account(1).address, dev_account(6).address]
    cache = tmp_path / "build"
    with running_anvil(settings) as url:
        path = tmp_path / "local.json"
        flags = ("--validator", validators[0])
        refused = run_deploy(url, path, cache, *flags, env=key)
        assert refused.returncode == 1
        assert (
            "--profile production" in refused.stderr and "--allow-local-profile" in refused.stderr
        )
        one = ("--allow-local-profile", "--required-signatures", "1")
        forced = run_deploy(url, path, cache, *flags, *one, env=key)
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert load_manifest(path).parameters["profile"] == "local"
        assert load_manifest(path).parameters["required_signatures"] == 1

        path = tmp_path / "production.json"
        production = ("--profile", "production", "--validator", validators[0])
        one_validator = run_deploy(url, path, cache, *production, env=key)
        assert one_validator.returncode == 1 and "2 validator signatures" in one_validator.stderr
        production = (*production, "--validator", validators[1])
        lowered = run_deploy(url, path, cache, *production, "--required-signatures", "1", env=key)
        assert lowered.returncode == 1 and "one key alone" in lowered.stderr
        no_guardian = run_deploy(url, path, cache, *production, env=key)
        assert no_guardian.returncode == 1 and "--guardian" in no_guardian.stderr
        guardian = dev_account(9).address
        production = (*production, "--guardian", guardian)
        no_nodes = run_deploy(url, path, cache, *production, env=key)
        assert no_nodes.returncode == 1 and "needs custody nodes" in no_nodes.stderr
        keys = [node_public_key(new_node_key()) for _ in range(3)]
        nodes = [
            a for i, k in enumerate(keys) for a in ("--custody-node", f"https://n{i}.example={k}")
        ]
        alone = run_deploy(
            url, path, cache, *production, *nodes, "--custody-threshold", "1", env=key
        )
        assert alone.returncode == 1 and "needs custody nodes" in alone.stderr
        above = run_deploy(
            url, path, cache, *production, *nodes, "--custody-threshold", "4", env=key
        )
        assert above.returncode == 1 and "does not fit 3 custody nodes" in above.stderr
        bad = run_deploy(
            url, path, cache, *production, "--custody-node", "https://n.example=04ab", env=key
        )
        assert bad.returncode == 2 and "public_key" in bad.stderr
        production = (*production, *nodes, "--custody-threshold", "2")
        deployed = run_deploy(url, path, cache, *production, env=key)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    printed = deployed.stdout.split("Compiling")[0]  # the parameters come before any deploying
    assert "profile production, chain 5151" in printed
    assert "voting_period_seconds    604800" in printed and "required_signatures      2" in printed
    assert "maturity_seconds         1209600" in printed
    parameters = load_manifest(path).parameters
    assert parameters["profile"] == "production" and parameters["guardian"] == guardian
    assert parameters["timelock_delay_seconds"] == 2 * 86_400
    assert parameters["quorum_percent"] == 4 and parameters["max_score"] == 10_000_000
