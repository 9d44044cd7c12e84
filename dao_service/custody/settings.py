"""A custody node's settings: `DATADAO_NODE_<NAME>` environment variables. Each node has
its own key file, database and chain RPC URL; nothing is shared with the service."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NodeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATADAO_NODE_", extra="ignore")

    # Where the node's secp256k1 private key lives (an owner-only file of 32 bytes, hex).
    # It is made only where `generate_key` says so (the local stack); anywhere else a
    # missing file stops the node rather than give it a key nobody has backed up.
    key_file: Path
    generate_key: bool = False
    database_url: str
    chain_rpc_url: str
    manifest_path: Path  # the deployment: chain id, AccessRegistry, ContributionRegistry
    host: str = "127.0.0.1"
    port: int = 8100
    challenge_ttl_seconds: int = 300
    key_refusals_per_client_per_minute: int = 60
    block_poll_seconds: float = Field(default=0.5, ge=0)
    validator_cache_seconds: float = 60.0  # how long "is a validator" is trusted
    # How often the chain is read for withdrawn and voided contributions, whose shares the
    # node then destroys by itself (0: only when asked).
    shred_poll_seconds: float = Field(default=5.0, ge=0)


@lru_cache
def get_node_settings() -> NodeSettings:
    return NodeSettings()  # type: ignore[call-arg]  # required fields come from the environment
