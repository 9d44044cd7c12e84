"""One `Settings` object for the service, the CLI and the local stack.

Every field reads from a `DATADAO_<NAME>` environment variable. The local defaults put
everything on loopback under one data directory; production sets the URLs instead
(any EVM JSON-RPC, any Kubo RPC, PostgreSQL) and nothing else changes.
"""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ANVIL_CHAIN_ID = 31337


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "datadao"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATADAO_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    chain_port: int = 8545
    ipfs_api_port: int = 5001
    ipfs_gateway_port: int = 8080
    service_port: int = 8000
    chain_id: int = ANVIL_CHAIN_ID

    # Left empty, each is derived from the data directory and ports above.
    chain_rpc_url: str = ""
    ipfs_api_url: str = ""
    database_url: str = ""
    manifest_path: Path | None = None

    # Keys. Empty: on anvil's chain the labelled test accounts sign and relay; the intake
    # and custody keys are generated once into the data directory (owner-only files).
    validator_key: str = ""
    relayer_key: str = ""
    custody_key: str = ""  # base64 of 32 bytes; else <data_dir>/keys/custody.key

    dataset_id: int = 1
    require_verification_code: bool = False
    max_upload_bytes: int = 200 * 1024 * 1024
    uploads_per_wallet_per_hour: int = 30
    uploads_per_client_per_minute: int = 60
    attestation_ttl_seconds: int = 24 * 3600
    challenge_ttl_seconds: int = 300
    # A renter's validation sample: small, it is decrypted and held in memory whole.
    max_sample_bytes: int = 1024 * 1024
    # How often the service looks for executed rentals whose earnings it has to settle.
    earnings_poll_seconds: float = 5.0

    # The intake worker: a thread of the API process (embedded, the default for one
    # process) or separate processes (`python -m dao_service.intake`; `datadao up` runs one).
    embedded_worker: bool = True
    work_lease_seconds: float = 60.0  # a dead worker's claims pass to another after this
    mint_batch_size: int = 32  # contributions minted per contributeBatch transaction

    @model_validator(mode="after")
    def _derive_local_defaults(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.chain_rpc_url:
            self.chain_rpc_url = f"http://{self.host}:{self.chain_port}"
        if not self.ipfs_api_url:
            self.ipfs_api_url = f"/ip4/{self.host}/tcp/{self.ipfs_api_port}/http"
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'datadao.sqlite3'}"
        if self.manifest_path is None:
            self.manifest_path = self.data_dir / "deployment.json"
        return self

    @property
    def manifest_file(self) -> Path:
        assert self.manifest_path is not None  # set by the validator
        return self.manifest_path

    @property
    def service_url(self) -> str:
        return f"http://{self.host}:{self.service_port}"

    @property
    def ipfs_gateway_url(self) -> str:
        return f"http://{self.host}:{self.ipfs_gateway_port}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def spool_dir(self) -> Path:
        """Ciphertext waiting to reach IPFS (encrypted; plaintext never touches disk)."""
        return self.data_dir / "spool"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"


@lru_cache
def get_settings() -> Settings:
    return Settings()
