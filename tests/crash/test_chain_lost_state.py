"""anvil killed and restored from older state, under the running service: a mint whose
transaction vanished (sent, not yet confirmed) and a minted one whose record vanished
are each found, sent again once, and end minted once."""

import gzip
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from dao_service.stack import chain_node
from dao_service.stack.process import ManagedProcess
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.utils.chain import Dao
from tests.utils.participants import contribute

ALICE, BOB = dev_account(2), dev_account(3)


def saved_state(w3: Web3) -> bytes:
    """The chain's state now, as anvil loads it at start (`--state`)."""
    dumped = w3.provider.make_request("anvil_dumpState", [])["result"]  # type: ignore[arg-type]
    return gzip.decompress(bytes.fromhex(dumped[2:]))


def restart_from(node: ManagedProcess, settings: Settings, state: bytes) -> None:
    """SIGKILL anvil and start it again from `state`: whatever happened since is lost."""
    assert node.process is not None
    node.process.kill()
    node.process.wait()
    chain_node.state_file(settings).write_bytes(state)
    node.start()
    node.wait_ready(lambda: chain_node.chain_answers(settings.chain_rpc_url) is not None, 30)


def status_once_mined(api: TestClient, w3: Web3, public_id: str, wanted: str) -> dict[str, Any]:
    """Poll the receipt, mining an empty block now and then (anvil mines only on a
    transaction, and a mint needs a second block to be confirmed twice)."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        receipt: dict[str, Any] = api.get(f"/api/contributions/{public_id}").json()
        if receipt["status"] == wanted:
            return receipt
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        time.sleep(0.5)
    raise AssertionError(f"{public_id} stuck at {receipt['status']}: {receipt['last_error']}")


def recorded_events(dao: Dao, fingerprint: str) -> int:
    events = dao.registry.events.ContributionRecorded().get_logs(
        from_block=0, argument_filters={"fingerprint": bytes.fromhex(fingerprint[2:])}
    )
    return len(events)


def test_mints_the_chain_lost_are_sent_again_once_and_minted_once(
    service_settings: Settings,
    dao: Dao,
    w3: Web3,
    anvil_node: ManagedProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATADAO_MINT_CONFIRMATIONS", "2")
    get_settings.cache_clear()
    with TestClient(create_app()) as api:
        # 1. Sent, not yet confirmed: "minting", not "minted". Then the chain loses it.
        before = saved_state(w3)
        export = reddit_export(reddit_spec(seed=7, comments=20, posts=2, account="alice_r"))
        first = contribute(api, ALICE, export).json()
        assert first["accepted"], first
        deadline = time.monotonic() + 30
        while (sent := api.get(f"/api/contributions/{first['id']}").json())["status"] != "minting":
            assert time.monotonic() < deadline, sent
            time.sleep(0.1)
        assert sent["tx_hash"] and sent["tokens_wei"] is None
        assert [s["name"] for s in sent["stages"] if s["done"]][-1] == "stored"
        restart_from(anvil_node, service_settings, before)
        assert dao.token.functions.balanceOf(ALICE.address).call() == 0  # the mint is gone

        minted = status_once_mined(api, w3, first["id"], "minted")
        fingerprint = minted["attestation"]["fingerprint"]
        assert recorded_events(dao, fingerprint) == 1
        assert dao.token.functions.balanceOf(ALICE.address).call() == minted["score"] * 10**18
        assert w3.eth.get_transaction(minted["tx_hash"])["blockNumber"] is not None

        # 2. Minted (confirmed), then the chain loses it: checked again and minted again.
        before = saved_state(w3)
        export = reddit_export(reddit_spec(seed=8, comments=20, posts=2, account="bob_r"))
        second = contribute(api, BOB, export).json()
        assert second["accepted"], second
        done = status_once_mined(api, w3, second["id"], "minted")
        restart_from(anvil_node, service_settings, before)
        assert dao.token.functions.balanceOf(BOB.address).call() == 0

        deadline = time.monotonic() + 30  # the worker looks again every 10 s
        while api.get(f"/api/contributions/{second['id']}").json()["status"] == "minted":
            assert time.monotonic() < deadline, "the lost record was not noticed"
            time.sleep(0.2)
        again = status_once_mined(api, w3, second["id"], "minted")
        assert recorded_events(dao, again["attestation"]["fingerprint"]) == 1
        assert dao.token.functions.balanceOf(BOB.address).call() == done["score"] * 10**18
        assert dao.token.functions.balanceOf(ALICE.address).call() == minted["score"] * 10**18
    get_settings.cache_clear()
