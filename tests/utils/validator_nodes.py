"""Co-validator nodes for tests: real `python -m dao_service.covalidator` processes, each
with its own key, data directory (database, intake key) and port, on the test's chain,
IPFS node and platform stand-in."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel

from dao_service.chain.validator_set import request_headers
from dao_service.core.config import Settings
from dao_service.stack.platform_standin import stand_in_env
from tests.utils.processes import free_port, wait_until


@dataclass
class ValidatorNodeProcess:
    url: str
    account: LocalAccount
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/validator", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def validator_nodes(
    service: Settings, platform_url: str, accounts: list[LocalAccount], directory: Path
) -> Iterator[list[ValidatorNodeProcess]]:
    """One node per account, each judging as the service does (same platform policy)."""
    nodes: list[ValidatorNodeProcess] = []
    try:
        for i, account in enumerate(accounts):
            port = free_port()
            data_dir = directory / f"validator-{i}"
            env = {
                **os.environ,
                **stand_in_env(platform_url),
                "DATADAO_DATA_DIR": str(data_dir),
                "DATADAO_DATABASE_URL": f"sqlite:///{data_dir / 'validator.sqlite3'}",
                "DATADAO_HOST": "127.0.0.1",
                "DATADAO_SERVICE_PORT": str(port),
                "DATADAO_VALIDATOR_KEY": "0x" + bytes(account.key).hex(),
                "DATADAO_CHAIN_RPC_URL": service.chain_rpc_url,
                "DATADAO_IPFS_API_URL": service.ipfs_api_url,
                "DATADAO_MANIFEST_PATH": str(service.manifest_file),
                "DATADAO_REQUIRE_OWNERSHIP_PROOF": str(service.require_ownership_proof).lower(),
            }
            data_dir.mkdir(parents=True)
            with open(directory / f"validator-{i}.log", "ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "dao_service.covalidator"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            nodes.append(ValidatorNodeProcess(f"http://127.0.0.1:{port}", account, process))
        for node in nodes:
            wait_until(lambda node=node: answers(node.url), timeout=90)  # type: ignore[misc]
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def post_as(signer: LocalAccount, url: str, path: str, body: BaseModel) -> httpx.Response:
    """POST a JSON body to a validator node as `signer` signs it (a collecting node's
    validator key, or anyone's, to see it refused)."""
    content = body.model_dump_json().encode()
    headers = {"content-type": "application/json", **request_headers(signer, path, content)}
    return httpx.post(f"{url}{path}", content=content, headers=headers, timeout=60)
