"""The whole local stack through the real CLI: up -> status -> down -> up keeps the chain."""

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from web3 import Web3

from dao_service.chain import connection
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.manifest import load_manifest
from dao_service.stack.process import port_open
from tests.utils.processes import port_flags, run_cli, settings_for, unwrapped


def test_up_status_down_up_keeps_addresses_and_chain_state(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    try:
        up = run_cli("up", "--detach", *port_flags(settings), "--api-workers", "2")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"{settings.service_url}/healthz" in up.stdout
        # its own data directory is named in the way to stop it
        assert f"datadao down --data-dir {settings.data_dir}" in unwrapped(up.stdout)
        pids = json.loads((settings.run_dir / "stack.json").read_text())["pids"]
        service = pids["service"]  # uvicorn's manager, with one child per API process
        children = Path(f"/proc/{service}/task/{service}/children").read_text().split()
        commands = [Path(f"/proc/{child}/cmdline").read_bytes() for child in children]
        assert sum(b"spawn_main" in command for command in commands) == 2
        assert "intake worker" in pids

        health = requests.get(f"{settings.service_url}/healthz", timeout=10).json()
        assert health["status"] == "ok"
        assert {name: part["status"] for name, part in health["parts"].items()} == {
            "chain": "up", "ipfs": "up", "contracts": "up", "database": "up",
            "custody nodes": "up",
        }  # fmt: skip

        status = run_cli("status", "--json", "--data-dir", str(settings.data_dir))
        assert status.returncode == 0, status.stdout
        report = json.loads(status.stdout)
        assert report["up"] is True
        assert report["parts"]["chain"]["address"] == settings.chain_rpc_url
        # Three validators, each its own process and key: the service's and two nodes.
        nodes = [report["parts"][f"validator node {n}"] for n in (1, 2)]
        assert {"validator node 1", "validator node 2"} <= set(pids)
        config = requests.get(f"{settings.service_url}/api/config", timeout=10).json()
        assert config["required_signatures"] == 2
        assert sorted(v["address"] for v in config["co_validators"]) == sorted(
            n["detail"] for n in nodes
        )
        assert len({config["validator"], *(n["detail"] for n in nodes)}) == 3

        again = run_cli("up", "--detach", *port_flags(settings))  # safe to run twice
        assert again.returncode == 0 and "already running" in again.stdout

        manifest = load_manifest(settings.manifest_file)
        w3 = connection.connect(settings.chain_rpc_url)
        sender = dev_account(3)
        receiver = Web3.to_checksum_address("0x" + "ab" * 20)
        connection.send(w3, sender, {"to": receiver, "value": 12345})
        block = w3.eth.block_number

        down = run_cli("down", "--data-dir", str(settings.data_dir))
        assert down.returncode == 0 and "Stopped" in down.stdout
        stopped = run_cli("status", "--json", "--data-dir", str(settings.data_dir))
        assert stopped.returncode == 1
        assert not json.loads(stopped.stdout)["parts"]["chain"]["up"]

        up2 = run_cli("up", "--detach", *port_flags(settings))
        assert up2.returncode == 0, up2.stdout + up2.stderr
        w3 = connection.connect(settings.chain_rpc_url)
        assert w3.eth.get_balance(receiver) == 12345
        assert w3.eth.block_number >= block
        assert load_manifest(settings.manifest_file).contracts == manifest.contracts
        assert "Reusing the deployment" in (settings.logs_dir / "deploy.log").read_text()
    finally:
        run_cli("down", "--data-dir", str(settings.data_dir))


def test_port_in_use_is_a_clear_message(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.chain_port))
        squatter.listen()
        result = run_cli("up", *port_flags(settings))
    assert result.returncode == 1
    assert f"Port {settings.chain_port} on 127.0.0.1 is already in use" in unwrapped(result.stderr)
    assert "Traceback" not in result.stderr


def test_down_without_a_stack_says_so(tmp_path: Path) -> None:
    result = run_cli("down", "--data-dir", str(tmp_path))
    assert result.returncode == 0
    assert "No stack is running" in result.stdout


def test_ctrl_c_stops_every_child_of_a_foreground_up(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    up = subprocess.Popen(
        [sys.executable, "-m", "dao_service.cli", "up", *port_flags(settings)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if "The stack is up" in line:
                break
        else:
            raise AssertionError("the stack never came up")
        ports = [
            settings.chain_port,
            settings.ipfs_api_port,
            settings.ipfs_gateway_port,
            settings.service_port,
        ]
        assert all(port_open("127.0.0.1", p) for p in ports)
        up.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert up.wait(timeout=60) == 0
        assert not any(port_open("127.0.0.1", p) for p in ports)
        assert not (settings.run_dir / "stack.json").exists()
    finally:
        if up.poll() is None:
            up.kill()
