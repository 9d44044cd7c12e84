"""The client library's pure parts: accounts, revert decoding, human times."""

import json
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from dao_service.chain.reverts import RevertDecoder
from dao_service.client.accounts import AccountStore
from dao_service.client.timefmt import duration, utc
from dao_service.exceptions import AccountError

ERROR_ABI = [
    {
        "type": "error",
        "name": "RegistryNotContributor",
        "inputs": [
            {"name": "fingerprint", "type": "bytes32"},
            {"name": "account", "type": "address"},
        ],
    },
    {
        "type": "error",
        "name": "WithTuple",
        "inputs": [
            {
                "name": "pair",
                "type": "tuple",
                "components": [{"name": "a", "type": "uint64"}, {"name": "b", "type": "bool"}],
            }
        ],
    },
]


def test_revert_decoder_names_the_error_and_its_arguments() -> None:
    decoder = RevertDecoder([ERROR_ABI])
    account = "0x" + "ab" * 20
    data = keccak(text="RegistryNotContributor(bytes32,address)")[:4] + encode(
        ["bytes32", "address"], [b"\x01" * 32, account]
    )
    reverted = decoder.decode("0x" + data.hex())
    assert reverted is not None and reverted.name == "RegistryNotContributor"
    assert reverted.args_[1] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert "RegistryNotContributor(fingerprint=0x0101" in reverted.user_message
    tuple_data = keccak(text="WithTuple((uint64,bool))")[:4] + encode(
        ["(uint64,bool)"], [(7, True)]
    )
    assert decoder.decode(tuple_data).args_ == ((7, True),)  # type: ignore[union-attr]
    assert decoder.decode(b"\xde\xad\xbe\xef") is None  # not ours: the caller keeps web3's error
    assert decoder.decode("0xzz") is None


def test_keystores_ape_folder_and_test_keys(tmp_path: Path) -> None:
    ape = tmp_path / "ape"
    ape.mkdir()
    ape_key = Account.create()
    (ape / "deployer.json").write_text(json.dumps(Account.encrypt(ape_key.key, "ape-pass")))
    store = AccountStore(tmp_path / "ours", ape_folder=ape, test_keys=True)
    mine = store.new("alice", "s3cret")
    names = {a.name: a for a in store.list()}
    assert names["deployer"].kind == "ape keystore" and names["deployer"].address == ape_key.address
    assert names["alice"].address == mine.address and "validator" in names["test1"].role
    assert store.load("deployer", lambda: "ape-pass").address == ape_key.address
    assert store.load("alice", lambda: "s3cret").address == mine.address
    with pytest.raises(AccountError, match="Wrong password for account 'alice'"):
        store.load("alice", lambda: "nope")
    with pytest.raises(AccountError, match="already exists"):
        store.new("alice", "again")
    with pytest.raises(AccountError, match="anvil's test keys"):
        store.new("test3", "x")
    with pytest.raises(AccountError, match="usable only with a local stack"):
        AccountStore(tmp_path / "ours", ape_folder=ape).load("test2", lambda: "")
    assert oct((tmp_path / "ours" / "alice.json").stat().st_mode & 0o777) == "0o600"


def test_durations_and_times_read_as_people_write_them() -> None:
    assert duration(7140) == "1h 59m" and duration(2 * 86_400 + 3_600) == "2d 1h"
    assert duration(45) == "45s" and duration(0) == "0s" and duration(120) == "2m"
    now = 1_795_500_000  # 2026-11-23
    assert utc(now + 60, now).endswith(" UTC") and len(utc(now + 60, now)) == len("16:04 UTC")
    assert utc(now + 3 * 86_400, now).startswith("2026-11-")


# 1.1313815… ETH: the command line once showed 1.131382, the page 1.131381.
AMOUNTS = [0, 1, 10**12 - 1, 10**12, 1_131_381_500_000_000_001, 1_131_381_999_999_999_999, 10**22]


def test_eth_amounts_round_toward_zero_to_six_decimals() -> None:
    from dao_service.client.governance import ETH_DECIMALS, eth

    assert ETH_DECIMALS == 6
    assert eth(1_131_381_500_000_000_001) == "1.131381 ETH"
    assert eth(1_131_381_999_999_999_999) == "1.131381 ETH"  # never more than is owed
    assert eth(10**12 - 1) == "0 ETH" and eth(10**12) == "0.000001 ETH"
    assert eth(10**22) == "10000 ETH" and eth(0) == "0 ETH"


def test_the_contributors_page_rounds_as_the_command_line() -> None:
    """mine.js's `eth`, run by node, gives the same text as the command line's."""
    import shutil
    import subprocess

    from dao_service.client.governance import eth

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    page = (Path(__file__).resolve().parents[2] / "dao_service" / "web" / "mine.js").read_text()
    start = page.index("function eth(wei)")
    function = page[start : page.index("\n}\n", start) + 3]
    script = (
        function + f"for (const w of {json.dumps([str(a) for a in AMOUNTS])}) console.log(eth(w));"
    )
    shown = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert shown == [eth(a) for a in AMOUNTS]


def test_anvil_addresses_listed_without_derivation_are_the_derived_ones() -> None:
    from dao_service.chain.dev_accounts import DEV_ADDRESSES, dev_account

    assert list(DEV_ADDRESSES) == [dev_account(i).address for i in range(10)]
