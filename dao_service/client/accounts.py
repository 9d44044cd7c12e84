"""Accounts the command line signs with: Web3 Secret Storage keystores (ours, and ape's
accounts folder read as well) and, on anvil's chain only, its labelled test keys."""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dao_service.core.files import write_private_file
from dao_service.exceptions import AccountError, ConfigurationError

ANVIL_TEST_ACCOUNTS = 10
# What each anvil test account does on the local stack (see dao_service/chain).
DEV_ROLES = {
    0: "deployer (holds no power after deployment)",
    1: "validator (signs attestations; do not contribute from it)",
    9: "relayer (the service sends contributions with it)",
}
# The local stack's co-validator nodes sign with the mnemonic's accounts 10 and 11
# (dao_service.chain.dev_accounts.CO_VALIDATOR_INDEXES), outside these ten.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


@dataclass(frozen=True)
class AccountInfo:
    name: str
    address: str
    kind: str  # "keystore", "ape keystore" or "anvil test key"
    role: str = ""


class AccountStore:
    """Keystores in `folder` (one `<name>.json` each) and in ape's accounts folder."""

    def __init__(self, folder: Path, ape_folder: Path | None = None, test_keys: bool = False):
        self.folder = folder
        self.ape_folder = (
            ape_folder if ape_folder is not None else Path.home() / ".ape" / "accounts"
        )
        self.test_keys = test_keys

    def _keystores(self) -> dict[str, tuple[Path, str]]:
        found: dict[str, tuple[Path, str]] = {}
        for folder, kind in ((self.ape_folder, "ape keystore"), (self.folder, "keystore")):
            if folder.is_dir():
                for path in sorted(folder.glob("*.json")):
                    found[path.stem] = (path, kind)
        return found

    def list(self) -> list[AccountInfo]:
        accounts = []
        for name, (path, kind) in self._keystores().items():
            try:
                address = "0x" + str(json.loads(path.read_text())["address"]).removeprefix("0x")
            except (OSError, ValueError, KeyError):
                continue  # not a keystore
            accounts.append(AccountInfo(name, _checksum(address), kind))
        if self.test_keys:
            from dao_service.chain.dev_accounts import DEV_ADDRESSES

            for index in range(ANVIL_TEST_ACCOUNTS):
                accounts.append(
                    AccountInfo(
                        f"test{index}",
                        DEV_ADDRESSES[index],
                        "anvil test key",
                        DEV_ROLES.get(index, "test user"),
                    )
                )
        return accounts

    def address_of(self, name: str) -> str:
        """The address of account `name`, without unlocking it."""
        for account in self.list():
            if account.name == name:
                return account.address
        if re.fullmatch(r"test\d", name):
            raise self._test_key_elsewhere(name)
        raise self._unknown(name)

    def name_of(self, address: str) -> str | None:
        """The name this machine keeps `address` under, if any (for hints to print)."""
        for account in self.list():
            if account.address.lower() == address.lower():
                return account.name
        return None

    @staticmethod
    def _test_key_elsewhere(name: str) -> AccountError:
        return AccountError(
            f"{name} is an anvil test key, usable only with a local stack on anvil's chain "
            "(31337): start one with `datadao up`, or use an account of yours."
        )

    def _unknown(self, name: str) -> AccountError:
        known = ", ".join(a.name for a in self.list()) or "none yet"
        return AccountError(
            f"No account named {name!r} (known: {known}). Create one with: datadao account new NAME"
        )

    def new(self, name: str, password: str) -> AccountInfo:
        from eth_account import Account

        return self._save(name, Account.create(), password)

    def import_key(self, name: str, private_key: str, password: str) -> AccountInfo:
        from eth_account import Account

        try:
            account = Account.from_key(private_key.strip())
        except (ValueError, TypeError) as exc:
            raise AccountError("That is not a private key (64 hex digits, 0x optional).") from exc
        return self._save(name, account, password)

    def _save(self, name: str, account: Any, password: str) -> AccountInfo:
        from eth_account import Account

        if not NAME_PATTERN.fullmatch(name) or re.fullmatch(r"test\d", name):
            raise AccountError(
                f"{name!r} cannot name an account: use letters, digits, '.', '_' or '-' "
                "(test0…test9 are anvil's test keys)."
            )
        if name in self._keystores():
            raise AccountError(f"An account named {name!r} already exists.")
        if not password:
            raise AccountError("An empty password would leave the key unprotected.")
        keystore = Account.encrypt(account.key, password)
        write_private_file(self.folder / f"{name}.json", json.dumps(keystore).encode())
        return AccountInfo(name, account.address, "keystore")

    def load(self, name: str, password: Callable[[], str]) -> Any:
        """The LocalAccount `name`; `password` is asked only for a keystore."""
        from eth_account import Account

        match = re.fullmatch(r"test(\d)", name)
        if match:
            if not self.test_keys:
                raise self._test_key_elsewhere(name)
            from dao_service.chain.dev_accounts import dev_account

            return dev_account(int(match.group(1)))
        keystores = self._keystores()
        if name not in keystores:
            raise self._unknown(name)
        path, _ = keystores[name]
        try:
            keystore = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{path} is not a readable keystore.") from exc
        try:
            key = Account.decrypt(keystore, password())
        except ValueError as exc:
            raise AccountError(f"Wrong password for account {name!r}.") from exc
        return Account.from_key(key)


def password_from_env() -> str | None:
    return os.environ.get("DATADAO_PASSWORD")


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)
