"""One `Settings` object for the service, the CLI and the local stack.

Every field reads from a `DATADAO_<NAME>` environment variable. The local defaults put
everything on loopback under one data directory; production sets the URLs instead
(any EVM JSON-RPC, any Kubo RPC, PostgreSQL) and nothing else changes.
"""

import ipaddress
import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dao_service.exceptions import ConfigurationError

if TYPE_CHECKING:  # importing `validators` loads pandas: read commands must not pay for it
    from validators.platforms import PlatformPolicy

ANVIL_CHAIN_ID = 31337
PRODUCTION_CONFIRMATIONS = 12  # blocks after which a mint counts, unless set
# Settings naming a platform the service reaches: in production, none may point at the
# local stack's stand-in (its accounts and items are whatever anyone posted to it).
PLATFORM_URL_SETTINGS = (
    "reddit_api_url",
    "reddit_oauth_api_url",
    "x_oembed_url",
    "x_authorize_url",
    "x_api_url",
)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "datadao"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATADAO_", extra="ignore")

    # `production` refuses what only the local stack may use (see `check_profile`) and
    # waits for more confirmations before a mint counts.
    profile: Literal["local", "production"] = "local"
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    chain_port: int = 8545
    ipfs_api_port: int = 5001
    ipfs_gateway_port: int = 8080
    service_port: int = 8000
    platform_port: int = 8090  # the local stack's platform stand-in (Reddit, X)
    # The local stack's custody nodes: `custody_nodes` of them on consecutive ports from
    # `custody_port`, any `custody_threshold` of which give a file key back.
    custody_port: int = 8101
    custody_nodes: int = Field(default=3, ge=1, le=255)
    custody_threshold: int = Field(default=2, ge=1)
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
    # The other validator nodes (`python -m uvicorn dao_service.covalidator:app`), by URL,
    # comma-separated: each judges every upload itself and signs only its own verdict;
    # a contribution or earnings root goes on-chain with the registry's required number
    # of signatures (this node's included). Empty: this node is the only validator.
    co_validators: str = ""
    # Seconds a validator node is given to judge an upload (it opens, validates and
    # refines it itself) or to sign; one that does not answer in time counts as away.
    co_validator_timeout_seconds: float = 120.0

    dataset_id: int = 1
    require_verification_code: bool = False
    # An export's account is bound to the uploading wallet, and the export accepted, only
    # on a proof its holder alone can give: the platform's sign-in or the verification
    # code. Off (the local stack only), an unproven binding is made, flagged unproven:
    # the owner who signs in later takes it back, and its contributions are disowned.
    require_ownership_proof: bool = True
    max_upload_bytes: int = 200 * 1024 * 1024
    # The web form's preview of refined records (anyone may ask): what one may send, and
    # how many run at once in a process; beyond either, the page goes on without one.
    preview_max_bytes: int = 8 * 1024 * 1024
    previews_at_once: int = 2
    # Request bodies are limited as they arrive (dao_service/api/body_limits.py): uploads
    # and previews to max_upload_bytes, samples to max_sample_bytes (each plus the form's
    # own fields), any other request to max_request_bytes; and all bodies one API process
    # receives at once to max_receiving_bytes (a request past it: 503 with Retry-After).
    max_request_bytes: int = 1024 * 1024
    max_receiving_bytes: int = 600 * 1024 * 1024
    uploads_per_wallet_per_hour: int = 30
    uploads_per_client_per_minute: int = 60
    # Refused key requests (no grant, bad signature...) one client address may make a
    # minute before it is held off for one: each may cost a chain lookup.
    key_refusals_per_client_per_minute: int = 60
    attestation_ttl_seconds: int = 24 * 3600
    challenge_ttl_seconds: int = 300
    # FastAPI's OpenTelemetry (spans, metrics, logs of each request) through the globally
    # configured providers (OTEL_* variables, or the opentelemetry-instrument launcher).
    telemetry: bool = False
    # Key release watches the chain's block number this often, in the background; grants
    # are cached per block, so a grant change is seen about this many seconds after it.
    # 0: nothing remembered, every release asks the chain (changes seen at once).
    block_poll_seconds: float = Field(default=0.5, ge=0)
    # A renter's validation sample: small, it is decrypted and held in memory whole.
    max_sample_bytes: int = 1024 * 1024
    # Samples: each signed by the renter's wallet; a wallet may hand in this many an hour
    # and a client address this many a minute; at most `max_pending_samples` handed in
    # over the last `sample_unreferenced_seconds` are held; one no rental refers to after
    # that long is unpinned and forgotten.
    samples_per_wallet_per_hour: int = 10
    samples_per_client_per_minute: int = 20
    max_pending_samples: int = 200
    sample_unreferenced_seconds: int = 24 * 3600
    # Audit rows (key releases, refusals, withdrawals) are kept this many days; 0: forever.
    audit_retention_days: int = Field(default=365, ge=0)
    # Statement nonces a client address may ask for a minute (each is a database row).
    nonces_per_client_per_minute: int = 30
    # How often the service looks for executed rentals whose earnings it has to settle.
    earnings_poll_seconds: float = 5.0

    # The intake worker: a thread of the API process (embedded, the default for one
    # process) or separate processes (`python -m dao_service.worker`; `datadao up` runs one).
    embedded_worker: bool = True
    api_workers: int = 0  # API processes `datadao up` runs; 0: one per core
    work_lease_seconds: float = 60.0  # a dead worker's claims pass to another after this
    mint_batch_size: int = 32  # contributions minted per contributeBatch transaction
    # A mint counts (the contribution is "minted") once this many blocks confirm its
    # transaction; 0: by profile, 1 on the local stack, PRODUCTION_CONFIRMATIONS otherwise.
    # Until then it is "minting"; a transaction the chain lost is found and sent again.
    mint_confirmations: int = Field(default=0, ge=0)
    # Minted contributions are checked against the chain again for this long after (a
    # chain that lost state, or a reorganisation deeper than the confirmations); 0: never.
    mint_recheck_seconds: int = Field(default=24 * 3600, ge=0)

    # The platforms: the real ones unless set (the local stack sets its stand-in's URLs).
    reddit_api_url: str = "https://www.reddit.com"  # info.json, OAuth authorize and token
    reddit_oauth_api_url: str = "https://oauth.reddit.com"  # /api/v1/me with a bearer token
    x_oembed_url: str = "https://publish.twitter.com/oembed"
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    x_api_url: str = "https://api.x.com"  # /2/oauth2/token and /2/users/me
    # Spot-checks: a platform that cannot be reached then means rejection, not a pass.
    require_platform_check: bool = True
    platform_sample_size: int = 20
    platform_min_found: float = 0.8  # of the sample; the rest deleted since the export
    platform_timeout_seconds: float = 10.0
    # OAuth 2.0 clients registered with the platforms (sign-in binds the export's account).
    reddit_client_id: str = ""
    reddit_client_secret: str = ""
    x_client_id: str = ""
    x_client_secret: str = ""
    service_public_url: str = ""  # e.g. https://dao.example.org; else service_url

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

    def check_profile(self) -> None:
        """ConfigurationError, naming the setting, if the production profile is given a
        platform URL on loopback or at the local stand-in's address, or told to bind
        accounts without proof. Called as each service and worker process starts."""
        if self.profile != "production":
            return
        if not self.require_ownership_proof:
            raise ConfigurationError(
                "DATADAO_REQUIRE_OWNERSHIP_PROOF=false would let anyone's wallet claim "
                "another person's account; the production profile refuses it (unset it)."
            )
        stand_in = urlsplit(self.platform_stand_in_url).netloc
        for name in PLATFORM_URL_SETTINGS:
            url = getattr(self, name)
            parts = urlsplit(url)
            if parts.netloc == stand_in or _is_loopback(parts.hostname or ""):
                raise ConfigurationError(
                    f"DATADAO_{name.upper()}={url} points at the local stand-in, not the "
                    f"platform; the production profile refuses it (unset it for the real one)."
                )

    def platform_policy(self) -> "PlatformPolicy":
        from validators.platforms import PlatformPolicy

        return PlatformPolicy(
            reddit_api_url=self.reddit_api_url,
            x_oembed_url=self.x_oembed_url,
            sample_size=self.platform_sample_size,
            min_found=self.platform_min_found,
            timeout=self.platform_timeout_seconds,
            required=self.require_platform_check,
        )

    @property
    def co_validator_urls(self) -> list[str]:
        return [url.strip().rstrip("/") for url in self.co_validators.split(",") if url.strip()]

    @property
    def confirmations_needed(self) -> int:
        if self.mint_confirmations:
            return self.mint_confirmations
        return PRODUCTION_CONFIRMATIONS if self.profile == "production" else 1

    @property
    def manifest_file(self) -> Path:
        assert self.manifest_path is not None  # set by the validator
        return self.manifest_path

    @property
    def service_url(self) -> str:
        return f"http://{self.host}:{self.service_port}"

    @property
    def public_url(self) -> str:
        """Where browsers reach the service (OAuth redirects come back here)."""
        return self.service_public_url or self.service_url

    @property
    def platform_stand_in_url(self) -> str:
        return f"http://{self.host}:{self.platform_port}"

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
    def custody_dir(self) -> Path:
        """The local stack's custody nodes, one folder each (key file, database)."""
        return self.data_dir / "custody"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"


def _is_loopback(host: str) -> bool:
    """Whether `host` is this machine: a `localhost` name (a trailing dot too), or a
    loopback or unspecified address in any form the resolver takes (IPv4-mapped IPv6,
    short or numeric IPv4 like `127.1` or `2130706433`). Names are not resolved: a
    lookup at start could hang where DNS does not answer."""
    host = host.strip("[]").lower().rstrip(".")
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the resolver's older IPv4 forms, which ipaddress refuses
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, UnicodeError):
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


@lru_cache
def get_settings() -> Settings:
    return Settings()
