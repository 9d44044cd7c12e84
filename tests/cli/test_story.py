"""The whole story with CLI commands only, against a real local stack (`datadao up`):
contribute -> rent -> vote -> queue -> execute -> fetch -> claim; a defeated rental is
refunded; a withdrawn contribution leaves later fetches, all with one of the three
custody nodes down; with two down a fetch fails naming them. And each refusal as a
sentence."""

import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests

from dao_service.chain.dev_accounts import dev_account
from dao_service.client.contribute import sign_in_url
from dao_service.client.service import ServiceClient
from dao_service.core.config import Settings
from dao_service.stack.sample_exports import SECRETS, reddit_export, reddit_full_export, reddit_spec
from tests.utils.platform_standin import approve_on_stand_in
from tests.utils.processes import port_flags, run_cli, settings_for, unwrapped, wait_until

ETH = 10**18
pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = settings_for(tmp_path_factory.mktemp("story") / "data")
    up = run_cli("up", "--detach", *port_flags(settings))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield settings
    finally:
        run_cli("down", "--data-dir", str(settings.data_dir))


@contextmanager
def json_rpc_answering(results: dict[str, Any]) -> Iterator[str]:
    """A JSON-RPC endpoint on loopback answering `results` by method (another chain)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(
                {"jsonrpc": "2.0", "id": call["id"], "result": results[call["method"]]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


# Every command hint the command line prints: `datadao …` between backticks.
HINT = re.compile(r"`(datadao [^`]+)`")
WIDE = {"COLUMNS": "1000"}  # rich wraps at the terminal's width: keep each hint on one line
PRINTED: list[str] = []  # the hints the commands of the running test printed
RAN: list[str] = []  # and those it ran, as printed


@pytest.fixture(autouse=True)
def _hints() -> None:
    PRINTED.clear()
    RAN.clear()


def hints(result: subprocess.CompletedProcess[str]) -> list[str]:
    return HINT.findall(result.stdout + result.stderr)


def run_hint(stack: Settings, hint: str, cwd: Path, stdin: str = "") -> str:
    """Run a printed hint exactly as printed (the stack's data dir from the environment,
    as a user with DATADAO_DATA_DIR set); it must succeed. Returns its output."""
    assert hint in PRINTED, f"{hint!r} was never printed (printed: {PRINTED})"
    result = run_cli(
        *shlex.split(hint)[1:],
        cwd=cwd,
        stdin=stdin,
        env={**WIDE, "DATADAO_DATA_DIR": str(stack.data_dir)},
    )
    assert result.returncode == 0, f"the hint `{hint}` failed:\n{result.stdout}{result.stderr}"
    RAN.append(hint)
    return unwrapped(result.stdout)


def the_hint(result: subprocess.CompletedProcess[str], starts: str) -> str:
    (found,) = [h for h in hints(result) if h.startswith(starts)]
    return found


def datadao(stack: Settings, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run a command against the stack; return its JSON output (it must succeed)."""
    result = cli(stack, *args, "--json", env=env)
    assert result.returncode == 0, f"datadao {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def cli(
    stack: Settings, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    result = run_cli(
        *args, "--data-dir", str(stack.data_dir), env={**WIDE, **(env or {})}, stdin=stdin
    )
    PRINTED.extend(hints(result))
    return result


def refusal(stack: Settings, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a command that must be refused (exit 1) with one line and no traceback."""
    return unwrapped(refused(stack, *args, env=env).stderr)  # whatever the terminal width


def refused(
    stack: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = cli(stack, *args, env=env)
    assert result.returncode == 1, f"datadao {' '.join(args)} exited {result.returncode}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def export(tmp_path: Path, name: str, seed: int, whole: bool = False) -> Path:
    """A Reddit export; `whole`: as Reddit sends it, secrets planted in its private files
    and in its public texts (SECRETS)."""
    path = tmp_path / f"{name}.zip"
    spec = reddit_spec(seed=seed, account=f"{name}_{seed}")
    path.write_bytes(reddit_full_export(spec) if whole else reddit_export(spec))
    return path


def hint_in(text: str, starts: str) -> str:
    (found,) = [h for h in HINT.findall(text) if h.startswith(starts)]
    return found


def three_surfaces(stack: Settings, account: str) -> dict[str, Any]:
    """What `balance`, `earnings` (both --json and as printed) and the contributors' page
    say `account` is owed: one and the same. Returns it."""
    address = dev_account(int(account.removeprefix("test"))).address
    owed = datadao(stack, "balance", "--account", account)["income"]
    assert datadao(stack, "earnings", "--account", account) == owed
    page = requests.get(f"{stack.service_url}/api/contributors/{address}", timeout=60).json()
    assert page["income"]["claimable"] == owed["claimable"]
    assert int(page["income"]["claimable_wei"]) == owed["claimable_wei"]
    assert [r["amount"] for d in page["income"]["datasets"] for r in d["rentals"]] == [
        r["amount"] for d in owed["datasets"] for r in d["rentals"]
    ]
    shown = unwrapped(cli(stack, "balance", "--account", account).stdout)
    assert f"claimable income {owed['claimable']}" in shown
    listed = unwrapped(cli(stack, "earnings", "--account", account).stdout)
    assert f"claimable {owed['claimable']}" in listed
    return dict(owed)


def planted(account: str) -> list[bytes]:
    """What of a whole export must never be stored or reach a renter, in any form."""
    values = [*SECRETS.private_values(), *SECRETS.public_values(), account]
    return [v.encode() for v in values]


def assert_nothing_private_stored(stack: Settings, secrets: list[bytes], renter: Any) -> int:
    """Every pinned blob (decrypted, where it is a contribution's, with the key `renter`
    combines from the custody nodes), the database, the spool and the service's logs hold
    none of `secrets`; the number of contribution blobs opened."""
    import sqlite3

    from dao_service.chain import connection
    from dao_service.chain.manifest import load_manifest
    from dao_service.client.custody import CustodyClient
    from dao_service.core.custody import open_upload
    from dao_service.storage.ipfs import IpfsStore
    from tests.utils.chain import Dao

    def clean(what: str, data: bytes) -> None:
        found = [s.decode() for s in secrets if s in data]
        assert not found, f"{what} holds {found}"

    database = stack.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        clean("the database", "\n".join(db.iterdump()).encode())
        assert db.execute(
            "select count(*) from contributions where wrapped_key is not null"
        ).fetchone() == (0,)  # no key kept by the service: the nodes hold the shares
    manifest = load_manifest(stack.manifest_file)
    node_set = Dao(connection.connect(stack.chain_rpc_url), manifest).current_node_set()
    assert node_set is not None  # read from the chain: the manifest records no nodes
    nodes = CustodyClient(node_set)
    access = manifest.address_of("AccessRegistry")
    signed = nodes.signed_request(renter, 1, manifest.chain_id, access)
    keys = [k for round in nodes.release(renter, signed, 1000) for k in round.keys]
    nodes.close()
    ipfs = IpfsStore(stack.ipfs_api_url)
    opened = 0
    try:
        for cid in ipfs._client.pin.ls(type="recursive")["Keys"]:  # earnings tables too
            clean(f"pinned blob {cid}", ipfs.cat(cid))
        for key in keys:
            assert ipfs.pinned(key.cid), key.cid
            clean(
                f"contribution blob {key.cid}", open_upload(key.file_key, key.iv, ipfs.cat(key.cid))
            )
            opened += 1
    finally:
        ipfs.close()
    for folder in (stack.spool_dir, stack.logs_dir):
        for path in folder.rglob("*"):
            if path.is_file() and path.name != "platforms.log":  # the platform's own
                clean(str(path), path.read_bytes())
    return opened


def break_custody_node(stack: Settings, index: int) -> None:
    """Take custody node `index` down for good: its key file unreadable as a key, so the
    supervisor's restarts fail (as a node whose operator lost its disk would)."""
    from dao_service.stack.custody_nodes import node_answers, node_url

    key_file = stack.custody_dir / f"node-{index}" / "node.key"
    key_file.rename(key_file.with_suffix(".kept"))
    key_file.write_bytes(b"not a key")
    key_file.chmod(0o600)
    pid = json.loads((stack.run_dir / "stack.json").read_text())["pids"][f"custody node {index}"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not node_answers(node_url(stack, index)))


def mend_custody_node(stack: Settings, index: int) -> None:
    """Its key back: the supervisor's next restart brings the node up (within 30 s)."""
    from dao_service.stack.custody_nodes import node_answers, node_url

    key_file = stack.custody_dir / f"node-{index}" / "node.key"
    key_file.with_suffix(".kept").replace(key_file)
    wait_until(lambda: node_answers(node_url(stack, index)), timeout=90, interval=0.5)


def test_contribute_rent_vote_fetch_claim_refund_withdraw(stack: Settings, tmp_path: Path) -> None:
    break_custody_node(stack, 3)  # the whole story with one of the three nodes down
    # Alice contributes her data request as Reddit sent it: private files and all.
    exports = {
        "test2": export(tmp_path, "alice", 11, whole=True),
        "test3": export(tmp_path, "bob", 12),
    }
    fabricated = export(tmp_path, "nobody", 13)  # its account never posted these items
    rejected = cli(stack, "contribute", str(fabricated), "--account", "test4")
    assert rejected.returncode == 1
    assert "platform spot-check failed" in unwrapped(rejected.stdout)
    published = datadao(stack, "platform", "publish", *map(str, exports.values()))
    assert sorted(published["published"].values()) == [48, 48]
    receipts = {}
    for account, path in exports.items():
        receipt = datadao(stack, "contribute", str(path), "--account", account)
        assert receipt["status"] == "minted" and receipt["score"] > 0
        receipts[account] = receipt
        held = datadao(stack, "balance", "--account", account)
        assert held["tokens"] == receipt["score"] * ETH and held["votes"] == held["tokens"]
        assert int(receipt["tokens_wei"]) == held["tokens"]  # the receipt says what it minted

    # Without a rental a contributor fetches only their own file, and is told so and why.
    own = cli(
        stack,
        "data",
        "fetch",
        "--dataset",
        "1",
        "--out",
        str(tmp_path / "own"),
        "--account",
        "test2",
    )
    assert own.returncode == 0, own.stderr
    said = unwrapped(own.stdout)
    assert "in 1 part files" in said and "Note: only your own contributions" in said
    assert "no access grant for" in said
    for hint in hints(own):  # `datadao rent status`, `datadao rent propose --help`
        run_hint(stack, hint, tmp_path)

    rental = datadao(
        stack,
        "rent",
        "propose",
        "--dataset",
        "1",
        "--days",
        "30",
        "--price",
        "2",
        "--description",
        "train a support bot",
        "--account",
        "test5",
    )
    assert rental["status"] == "Pending" and rental["payment_wei"] == 2 * ETH
    number = str(rental["proposal"])
    shown = datadao(stack, "proposal", "show", number)
    (action,) = shown["actions"]  # grant and payment: one action, the rental's own
    assert action.startswith(f"grant {dev_account(5).address[:6]}")
    assert "access to dataset 1 for 30d and pay 2 ETH (rental #1) to dataset 1's" in action

    # Each "too early" says what moves the local chain on; run as printed, it does.
    early_vote = refused(stack, "vote", number, "for", "--account", "test2")
    assert "voting opens in " in unwrapped(early_vote.stderr)  # the voting delay, in seconds
    run_hint(stack, the_hint(early_vote, "datadao chain advance --time"), tmp_path)
    for voter in ("test2", "test3"):
        datadao(stack, "vote", number, "for", "--reason", "fair price", "--account", voter)
    too_soon = refused(stack, "queue", number, "--account", "test7")
    said = unwrapped(too_soon.stderr)
    assert "queue needs a Succeeded proposal (this one is Active: voting ends in" in said
    run_hint(stack, the_hint(too_soon, "datadao chain advance --time"), tmp_path)
    listed = datadao(stack, "proposals")
    assert listed[0]["state"] == "Succeeded" and listed[0]["quorum_reached"] is True
    datadao(stack, "queue", number, "--account", "test7")
    early = refused(stack, "execute", number, "--account", "test7")
    assert "executable in" in unwrapped(early.stderr) and "UTC" in unwrapped(early.stderr)
    run_hint(stack, the_hint(early, "datadao chain advance --time"), tmp_path)
    datadao(stack, "execute", number, "--account", "test7")
    executed = datadao(stack, "rent", "status", str(rental["rental"]))
    fetch = hint_in(executed["when"], "datadao data fetch")
    assert fetch == "datadao data fetch --dataset 1 --out rental-1 --account test5"
    run_hint(stack, fetch, tmp_path)

    out = tmp_path / "rental-1"
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["files"]) == 2
    records = pq.read_table(out / "data")  # the part files, as one dataset
    assert records.num_rows == sum(r["records"] for r in receipts.values())
    card = json.loads((out / "datacard.json").read_text())
    assert card["records"] == records.num_rows and card["by_source"] == {"reddit": records.num_rows}
    for receipt in receipts.values():
        assert receipt["record_schema"] == card["schema"]["id"]
        mine = records.filter(pc.equal(records.column("contribution_id"), receipt["id"]))
        assert mine.num_rows == receipt["records"]
    # The public texts are there, scrubbed; nothing private reached the renter or the store.
    texts = "\n".join(records.column("text").to_pylist())
    assert "<EMAIL>" in texts and "<PHONE>" in texts and "I agree with u/user_" in texts
    secrets = planted("alice_11")
    for path in out.rglob("*"):
        if path.is_file():
            assert not [s for s in secrets if s in path.read_bytes()], path
    assert assert_nothing_private_stored(stack, secrets, dev_account(5)) == 2
    again = datadao(
        stack, "data", "fetch", "--dataset", "1", "--out", str(out), "--account", "test5"
    )
    assert again["downloaded"] == 0 and again["skipped"] == 2  # resumed: nothing refetched
    assert again["scope"] == "dataset" and again["note"] is None

    # The rental had no sample: it pays by score. Every surface shows that income, per
    # rental, and the same total; the claim it suggests collects exactly that.
    total = sum(r["score"] for r in receipts.values())
    for account, receipt in receipts.items():
        owed = three_surfaces(stack, account)
        ((row,),) = [d["rentals"] for d in owed["datasets"]]
        assert row["rental_id"] == rental["rental"] and row["split_by"] == "score"
        assert abs(owed["claimable_wei"] - 2 * ETH * receipt["score"] // total) <= 1  # pro rata
        listed = cli(stack, "earnings", "--account", account)
        said = run_hint(stack, the_hint(listed, "datadao claim"), tmp_path)
        assert f"Paid {owed['claimable']} of dataset 1's income" in said
        after = three_surfaces(stack, account)
        assert after["claimable_wei"] == 0
        assert after["datasets"][0]["claimed_wei"] == owed["claimable_wei"]
    assert "has no rental income to claim from any dataset" in refusal(
        stack, "claim", "--account", "test2"
    )

    sample = tmp_path / "sample.txt"
    sample.write_text("how do I reset my router\nthe wifi keeps dropping at night\n")
    second = datadao(
        stack,
        "rent",
        "propose",
        "--days",
        "1",
        "--price",
        "1",
        "--sample",
        str(sample),
        "--account",
        "test6",
    )
    (action,) = datadao(stack, "proposal", "show", str(second["proposal"]))["actions"]
    digest = hashlib.sha256(sample.read_bytes()).hexdigest()
    assert f"validation sample (SHA-256 0x{digest}, 58 bytes)" in action
    run_hint(stack, hint_in(second["when"], "datadao chain advance --time"), tmp_path)
    for voter in ("test2", "test3"):
        datadao(stack, "vote", str(second["proposal"]), "against", "--account", voter)
    (voting,) = [p for p in datadao(stack, "proposals") if p["number"] == second["proposal"]]
    assert voting["state"] == "Active"
    run_hint(stack, hint_in(voting["when"], "datadao chain advance --time"), tmp_path)
    closed = refusal(stack, "vote", str(second["proposal"]), "for", "--account", "test4")
    assert "voting closed at" in closed and "the proposal was Defeated" in closed
    defeated = datadao(stack, "rent", "status", str(second["rental"]))
    refund = hint_in(defeated["when"], "datadao rent refund")
    assert refund == f"datadao rent refund {second['rental']} --account test6"
    before = datadao(stack, "balance", dev_account(6).address)["eth_wei"]
    assert "Refunded 1 ETH" in run_hint(stack, refund, tmp_path)
    assert datadao(stack, "balance", dev_account(6).address)["eth_wei"] > before + ETH * 99 // 100
    assert datadao(stack, "rent", "status", str(second["rental"]))["status"] == "Refunded"

    withdrawn = datadao(stack, "withdraw", receipts["test2"]["id"], "--account", "test2")
    shredded = withdrawn["key_destruction"]
    assert len(shredded["confirmed"]) == 2 and shredded["key_gone"]  # N - M + 1 = 2
    assert list(shredded["unconfirmed"]) == [f"http://127.0.0.1:{stack.custody_port + 2}"]
    later = tmp_path / "later"
    datadao(stack, "data", "fetch", "--out", str(later), "--account", "test5")
    files = json.loads((later / "manifest.json").read_text())["files"]
    assert [f["contribution_id"] for f in files] == [receipts["test3"]["id"]]
    resumed = datadao(stack, "data", "fetch", "--out", str(out), "--account", "test5")
    assert resumed["removed"] == [receipts["test2"]["id"]]  # the withdrawn file is gone

    # History names a contribution by its id, as its receipt, `withdraw` and the page do.
    events = datadao(stack, "history", "--account", "test2")
    for event in ("ContributionRecorded", "VoteCast", "RevenueClaimed", "ContributionWithdrawn"):
        assert event in [e["event"] for e in events]
    for event in ("ContributionRecorded", "ContributionWithdrawn"):
        (entry,) = [e for e in events if e["event"] == event]
        assert entry["contribution_id"] == receipts["test2"]["id"]
        assert receipts["test2"]["id"] in entry["summary"] and "0x" not in entry["summary"]
    assert receipts["test2"]["id"] in unwrapped(cli(stack, "history", "--account", "test2").stdout)

    datadao(stack, "chain", "advance", "--time", "31d")
    # The service's grant memory is as fresh as its watcher's last poll of the chain (0.5 s,
    # longer on a loaded machine): wait until it has seen the block that ended the grant.
    fetch_later = ("data", "fetch", "--out", str(later), "--account", "test5")
    wait_until(lambda: run_cli(*fetch_later, "--data-dir", str(stack.data_dir)).returncode == 1)
    expired = refusal(stack, *fetch_later)
    assert f"no access grant for {dev_account(5).address[:6]}" in expired
    assert "on dataset 1 (expired 20" in expired

    # Two of three nodes down: fewer than M answer, and the refusal names both.
    break_custody_node(stack, 2)
    try:
        own = refusal(
            stack, "data", "fetch", "--out", str(tmp_path / "own-2"), "--account", "test3"
        )
        assert "only 1 of 3 custody nodes answered and 2 are needed" in own
        for index in (2, 3):
            assert (
                f"custody node {index} (http://127.0.0.1:{stack.custody_port + index - 1})" in own
            )
    finally:
        mend_custody_node(stack, 2)
        mend_custody_node(stack, 3)
    assert set(PRINTED) <= set(RAN), f"hints printed but never run: {set(PRINTED) - set(RAN)}"


def test_contribute_prints_a_readable_receipt_or_the_rejection(
    stack: Settings, tmp_path: Path
) -> None:
    carol = export(tmp_path, "carol", 13)
    datadao(stack, "platform", "publish", str(carol))  # carol's account posted these items
    minted = cli(stack, "contribute", str(carol), "--account", "test4")
    assert minted.returncode == 0, minted.stderr
    text = unwrapped(minted.stdout)
    assert "Minted contribution" in text and "CID bafk" in text
    (contribution_id,) = re.findall(r"Minted contribution ([0-9a-f-]{36})", text)
    receipt = datadao(stack, "contribute", str(carol), "--account", "test4")  # its receipt again
    minted_tokens = int(receipt["tokens_wei"]) // ETH
    assert minted_tokens > 0 and f"{minted_tokens} tokens minted" in text
    withdraw = the_hint(minted, "datadao withdraw")
    assert withdraw == f"datadao withdraw {contribution_id} --account test4"
    assert f"Withdrew contribution {contribution_id}" in run_hint(stack, withdraw, tmp_path)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not a zip at all")
    rejected = cli(stack, "contribute", str(junk), "--account", "test4")
    # Refused here, before anything is signed or sent: its records cannot even be previewed.
    assert rejected.returncode == 1 and "Traceback" not in rejected.stderr
    assert "The archive is not a readable zip file" in unwrapped(rejected.stderr)


def test_refusals_read_as_sentences(stack: Settings, tmp_path: Path) -> None:
    no_votes = refused(
        stack,
        "proposal",
        "new",
        "Raise the reward",
        "--call",
        "ContributionRegistry.setRewardRate:2",
        "--account",
        "test8",
    )
    said = unwrapped(no_votes.stderr)
    assert "proposing directly needs 1 votes (you have 0 at " in said and " UTC)" in said
    assert "renters propose a rental instead (`datadao rent propose --help`)" in said
    no_grant = refused(stack, "data", "fetch", "--out", str(tmp_path), "--account", "test8")
    said = unwrapped(no_grant.stderr)
    assert f"no access grant for {dev_account(8).address[:6]}" in said
    assert "on dataset 1" in said
    for hint in hints(no_votes) + hints(no_grant):
        run_hint(stack, hint, tmp_path)
    assert "No account named 'nobody'" in refusal(stack, "balance", "--account", "nobody")
    down = refusal(stack, "balance", "--account", "test2", "--rpc", "http://127.0.0.1:9")
    assert "cannot reach the chain at http://127.0.0.1:9: is `datadao up` running?" in down
    gone = refusal(stack, "withdraw", "x", "--account", "test2", "--service", "http://127.0.0.1:9")
    assert "cannot reach the service at http://127.0.0.1:9: is `datadao up` running?" in gone


def test_a_new_holder_proposes_right_after_minting(stack: Settings, tmp_path: Path) -> None:
    """The Governor counts the votes of the second before the proposal's: tokens minted
    in the latest block's second count for a proposal in a later one, which `proposal new`
    waits for."""
    erin = export(tmp_path, "erin", 15)
    datadao(stack, "platform", "publish", str(erin))
    minted = datadao(stack, "contribute", str(erin), "--account", "test7")
    assert minted["status"] == "minted"
    opened = datadao(
        stack,
        "proposal",
        "new",
        "Keep the reward",
        "--call",
        "ContributionRegistry.setRewardRate:1000000000000000000",
        "--account",
        "test7",
    )
    assert opened["number"] >= 1


def test_read_commands_import_neither_the_validators_nor_pandas(stack: Settings) -> None:
    for command in (
        ["balance", "--account", "test2"],
        ["earnings", "--account", "test2"],
        ["proposals"],
    ):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "dao_service.cli", *command,
             "--data-dir", str(stack.data_dir)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        imported = {
            line.split("|")[-1].strip()
            for line in result.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "dao_service.client.core" in imported  # the list is the real one
        for heavy in ("validators", "pandas", "web3", "sqlalchemy"):
            assert heavy not in imported, f"datadao {command[0]} imports {heavy}"


def test_a_revert_nobody_foresaw_names_the_custom_error(stack: Settings) -> None:
    renter = dev_account(5).address
    proposal = datadao(
        stack,
        "proposal",
        "new",
        "Grant nothing",
        "--call",
        f"AccessRegistry.grantAccess:{renter},1,0",
        "--account",
        "test3",
    )
    number = str(proposal["number"])
    datadao(stack, "chain", "advance", "--time", "61s")
    datadao(stack, "vote", number, "for", "--account", "test3")
    datadao(stack, "chain", "advance", "--time", "10m")
    datadao(stack, "queue", number, "--account", "test3")
    datadao(stack, "chain", "advance", "--time", "2m")
    refused = refusal(stack, "execute", number, "--account", "test3")
    assert "the chain refused the transaction: AccessRegistryZeroDuration(" in refused


def test_chain_advance_is_refused_on_any_chain_but_anvil(stack: Settings) -> None:
    with json_rpc_answering({"eth_chainId": "0x1"}) as url:
        refused = refusal(stack, "chain", "advance", "--blocks", "1", "--rpc", url)
    assert "chain advance works only on a local anvil chain (chain id 31337)" in refused
    assert "is chain 1" in refused


def test_refused_before_sending_what_would_waste_money_or_gas(
    stack: Settings, tmp_path: Path
) -> None:
    unknown = refusal(
        stack,
        "rent",
        "propose",
        "--dataset",
        "42",
        "--days",
        "1",
        "--price",
        "1",
        "--account",
        "test6",
    )
    assert "dataset 42 has no contributions to rent (datasets with contributions: 1)" in unknown
    rental = datadao(
        stack, "rent", "propose", "--days", "1", "--price", "0.1", "--account", "test6"
    )
    datadao(stack, "chain", "advance", "--time", "61s")
    empty = refusal(stack, "vote", str(rental["proposal"]), "for", "--account", "test8")
    assert "held no votes when voting on proposal" in empty
    env = {"DATADAO_PASSWORD": "pw"}
    pauper = datadao(stack, "account", "new", "pauper", env=env)["address"]
    broke = refused(stack, "delegate", pauper, "--account", "pauper", env=env)
    said = unwrapped(broke.stderr)
    assert f"{pauper} has too little ETH to pay for this transaction's gas" in said
    run_hint(stack, the_hint(broke, "datadao chain fund"), tmp_path)  # as printed, it funds
    assert datadao(stack, "delegate", pauper, "--account", "pauper", env=env)["delegate"] == pauper


def test_keystore_accounts_and_wrong_password(stack: Settings) -> None:
    env = {"DATADAO_PASSWORD": "correct horse"}
    created = datadao(stack, "account", "new", "renter", env=env)
    listed = datadao(stack, "account", "list")
    assert {
        "name": "renter",
        "address": created["address"],
        "kind": "keystore",
        "role": "",
    } in listed
    validator = next(a for a in listed if a["name"] == "test1")
    assert validator["kind"] == "anvil test key" and "validator" in validator["role"]
    assert datadao(stack, "balance", "--account", "renter")["tokens"] == 0
    funded = datadao(stack, "chain", "fund", created["address"], "--eth", "5")
    assert funded["balance_wei"] == 5 * ETH
    assert datadao(stack, "balance", created["address"])["eth_wei"] == 5 * ETH
    # Funding adds: it never takes ETH away from an account that holds more.
    assert (
        datadao(stack, "chain", "fund", created["address"], "--eth", "5")["balance_wei"] == 10 * ETH
    )
    rich = dev_account(8).address
    held = datadao(stack, "balance", rich)["eth_wei"]
    assert held > 1_000 * ETH
    assert datadao(stack, "chain", "fund", rich, "--eth", "10")["balance_wei"] == held + 10 * ETH
    wrong = refusal(
        stack,
        "delegate",
        created["address"],
        "--account",
        "renter",
        env={"DATADAO_PASSWORD": "wrong"},
    )
    assert "Wrong password for account 'renter'" in wrong


def test_demo_runs_the_story_and_writes_sample_exports(stack: Settings, tmp_path: Path) -> None:
    result = cli(stack, "demo", "--out", str(tmp_path / "fetched"))
    assert result.returncode == 0, result.stdout + result.stderr
    text = unwrapped(result.stdout)
    assert "Demo summary" in text and "test1" not in text  # the validator never contributes
    fetched = json.loads((tmp_path / "fetched" / "manifest.json").read_text())["files"]
    assert len(fetched) >= 3
    for account in ("test2", "test3", "test4"):  # one figure on every surface after the demo
        owed = three_surfaces(stack, account)
        assert owed["claimable_wei"] == 0 and owed["datasets"][0]["rentals"]
    written = cli(stack, "demo", "--exports", str(tmp_path / "samples"))
    assert written.returncode == 0
    for hint in hints(result) + hints(written):  # proposals, history, balance, status
        run_hint(stack, hint, tmp_path)
    assert len(set(RAN)) == 4
    samples = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert len(samples) == 3 and any(n.startswith("twitter-archive") for n in samples)


def browser_sign_in(url: str, account: str) -> str:
    """What the contributor does in a browser at `url`: sign in on the platform as
    `account`, allow, and read the sign-in pass off the page the service ends on."""
    browser = requests.Session()
    page = browser.get(url, timeout=10)  # redirected to the platform's sign-in page
    assert page.status_code == 200 and "Allow" in page.text, page.text
    done = browser.get(approve_on_stand_in(page.url, account), timeout=10)
    found = re.search(r'<pre id="pass">([^<]+)</pre>', done.text)
    assert found, done.text
    return found.group(1)


def test_contribute_signed_in_with_the_platform(stack: Settings, tmp_path: Path) -> None:
    dave = export(tmp_path, "dave", 14)
    datadao(stack, "platform", "publish", str(dave))
    # The browser's URL as `datadao contribute --sign-in` prints it: test6 signed its request.
    url = sign_in_url(ServiceClient(stack.service_url), "reddit", dev_account(6))
    args = ("contribute", str(dave), "--account", "test6", "--sign-in", "reddit")

    wrong = cli(stack, *args, stdin=browser_sign_in(url, "eve") + "\n")
    printed = f"/api/signin/reddit?wallet={dev_account(6).address}&nonce="
    assert printed in unwrapped(wrong.stdout) and "Signed in with reddit as eve" in wrong.stdout
    assert wrong.returncode == 1
    assert "signed in as another account, but the export is the account's" in unwrapped(
        wrong.stdout
    )

    right = cli(stack, *args, "--json", stdin=browser_sign_in(url, "dave_14") + "\n")
    assert right.returncode == 0, right.stdout + right.stderr
    receipt = json.loads(right.stdout)
    signed = {c["name"]: c for c in receipt["report"]["ownership"]}["platform sign-in"]
    assert signed["status"] == "pass" and receipt["report"]["ownership_score"] == 1.0
