"""A lazily connected DaoChain: the service starts even while the chain or the manifest
is not there yet, and connects on first use (then keeps the connection)."""

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from dao_service.chain import connection
from dao_service.chain.dao import DaoChain
from dao_service.chain.dev_accounts import VALIDATOR_INDEX, key_or_dev_account
from dao_service.chain.manifest import load_manifest
from dao_service.core.config import Settings

RELAYER_INDEX = 9  # anvil test account #9 relays contributions on the local chain


class ChainProvider:
    def __init__(
        self,
        settings: Settings,
        send_lock: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.settings, self._send_lock = settings, send_lock
        self._chain: DaoChain | None = None
        self._lock = threading.Lock()

    def __call__(self) -> DaoChain:
        if self._chain is not None:
            return self._chain
        with self._lock:
            if self._chain is None:
                manifest = load_manifest(self.settings.manifest_file)
                w3 = connection.connect(self.settings.chain_rpc_url)
                validator = key_or_dev_account(
                    self.settings.validator_key, manifest.chain_id, VALIDATOR_INDEX, "validator"
                )
                relayer = key_or_dev_account(
                    self.settings.relayer_key, manifest.chain_id, RELAYER_INDEX, "relayer"
                )
                self._chain = DaoChain(w3, manifest, validator, relayer, self._send_lock)
            return self._chain
