"""Fixtures: real anvil and IPFS nodes, and the DAO contracts deployed through scripts/deploy.py."""

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from dao_service.chain import connection
from dao_service.chain.compiler import CompiledContract, compile_project
from dao_service.chain.dev_accounts import DEPLOYER_INDEX, VALIDATOR_INDEX, dev_account
from dao_service.chain.manifest import DeploymentManifest, write_manifest
from dao_service.core import paths
from dao_service.core.config import Settings, get_settings
from dao_service.stack.platform_standin import stand_in_env
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.ipfs import IpfsStore
from tests.utils.chain import Dao
from tests.utils.custody import RunningNodes
from tests.utils.platform_standin import StandIn, platform_stand_in
from tests.utils.processes import running_anvil, running_ipfs, settings_for


def load_deploy_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "deploy", paths.PROJECT_ROOT / "scripts" / "deploy.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def deploy_script() -> ModuleType:
    return load_deploy_script()


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CompiledContract]:
    return compile_project(paths.PROJECT_ROOT / ".build" / "test-cache")


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions of a migrated SQLite database of the test's own."""
    engine = make_engine(f"sqlite:///{tmp_path / 'datadao.sqlite3'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def stack_settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data")


@pytest.fixture
def anvil_url(stack_settings: Settings) -> Iterator[str]:
    with running_anvil(stack_settings) as url:
        yield url


@pytest.fixture
def w3(anvil_url: str) -> Web3:
    return connection.connect(anvil_url)


DeployDao = Callable[..., DeploymentManifest]


@pytest.fixture
def deploy_dao(
    w3: Web3, compiled: dict[str, CompiledContract], deploy_script: ModuleType
) -> DeployDao:
    """Deploys the DAO through scripts/deploy.py: `profile`, `validators`, `guardian` and
    `required_signatures` as the script takes them, any other keyword replaces that profile
    parameter. By default the service's validator alone signs (most tests run the service
    without co-validator nodes; tests/validator_node runs them)."""

    def deploy(
        profile: str = "local",
        validators: list[str] | None = None,
        guardian: str | None = None,
        required_signatures: int | None = None,
        **overrides: Any,
    ) -> DeploymentManifest:
        if validators is None:
            validators, required_signatures = [dev_account(VALIDATOR_INDEX).address], 1
        params = deploy_script.profile_parameters(
            profile, w3.eth.chain_id, validators, guardian, required_signatures=required_signatures
        )
        return deploy_script.deploy_all(
            w3,
            dev_account(DEPLOYER_INDEX),
            compiled,
            {**params, **overrides},
            validators,
            log=lambda *_: None,
        )

    return deploy


@pytest.fixture
def manifest(deploy_dao: DeployDao) -> DeploymentManifest:
    return deploy_dao()


@pytest.fixture(scope="session")
def ipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsStore]:
    settings = settings_for(tmp_path_factory.mktemp("ipfs"))
    with running_ipfs(settings) as api_url:
        store = IpfsStore(api_url, timeout=10)
        yield store
        store.close()


@pytest.fixture
def dao(w3: Web3, manifest: DeploymentManifest) -> Dao:
    return Dao(w3, manifest)


@pytest.fixture
def service_settings(
    stack_settings: Settings,
    manifest: DeploymentManifest,
    ipfs: IpfsStore,
    platform: StandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    write_manifest(stack_settings.manifest_file, manifest)
    for name, value in stand_in_env(platform.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATADAO_DATA_DIR", str(stack_settings.data_dir))
    monkeypatch.setenv("DATADAO_CHAIN_RPC_URL", stack_settings.chain_rpc_url)
    monkeypatch.setenv("DATADAO_IPFS_API_URL", ipfs.api_url)
    monkeypatch.setenv("DATADAO_BLOCK_POLL_SECONDS", "0")  # grant changes seen at once
    # As on the local stack: exports are accepted without the account's proof (bound
    # unproven); tests/api/test_ownership_proof.py turns the production rule on.
    monkeypatch.setenv("DATADAO_REQUIRE_OWNERSHIP_PROOF", "false")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def platform() -> Iterator[StandIn]:
    """A local stand-in for Reddit and X (info.json, oEmbed, OAuth 2.0), empty at first."""
    with platform_stand_in() as stand_in:
        yield stand_in


@pytest.fixture
def custody_nodes(
    stack_settings: Settings, manifest: DeploymentManifest, anvil_url: str
) -> Iterator[RunningNodes]:
    """Three custody node processes (M = 2) on the test's chain, recorded in `manifest`."""
    from tests.utils.custody import running_nodes

    with running_nodes(stack_settings, manifest) as nodes:
        yield nodes
