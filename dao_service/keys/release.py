"""Key release: a renter proves its wallet by signing a key-release request; if
AccessRegistry says it may decrypt the dataset, it receives the live file keys
ECIES-encrypted to its own public key, a page at a time. Contributors may always fetch
the keys of their own contributions. Every release and refusal is written to the audit log.

The signed text (`challenge_text`) names the wallet, the dataset, the chain, a nonce and
an expiry. `/api/keys/challenge` writes one (nothing is stored), or the renter composes it
with a random nonce of its own and an expiry at most `challenge_ttl_seconds` ahead: one
round trip per release. Each nonce is used once (`ReleaseLog`), whichever process sees it.

Paging: each page ends with a cursor (MAC'd by the service, bound to the address, the
dataset, the public key and the last contribution sent, valid for a while) that asks for
the next page without another signature; the grant is checked again for every page, so
a revoked renter gets no further page."""

import functools
import hmac
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio.to_thread
from eth_keys.datatypes import PublicKey
from sqlalchemy import Engine, Select, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from web3.exceptions import Web3Exception

from dao_service.chain.challenges import challenge_text, recover_public_key
from dao_service.core.custody import CustodyKey, SealingKeys
from dao_service.exceptions import (
    ChallengeReplayed,
    KeyRefused,
    KeyRequestsLimited,
    StackError,
)
from dao_service.keys.grants import Grant
from dao_service.keys.release_log import REPLAYED, LogEntry, ReleaseLog, UsedChallenge
from dao_service.models import Contribution, Stage
from dao_service.storage.database import session_factory
from dao_service.storage.rate_limits import RateLimiter

CURSOR_TTL = 3600  # seconds a fetch may take between its challenge and its last page
CLOCK_SKEW = 30  # seconds a renter's clock may run ahead of the service's


# Built once, with parameters: a statement built per request costs more than it runs.
LIVE_KEYS = (
    select(
        Contribution.id,
        Contribution.public_id,
        Contribution.cid,
        Contribution.refined_sha256,
        Contribution.iv,
        Contribution.wrapped_key,
    )
    .where(
        Contribution.dataset_id == bindparam("dataset_id"),
        Contribution.id > bindparam("after"),
        Contribution.stage == Stage.MINTED,
        Contribution.withdrawn.is_(False),
        # Made under a binding the account's owner took back: awaiting a void proposal.
        Contribution.disowned_at.is_(None),
        Contribution.wrapped_key.is_not(None),
        # Only refined records are ever released: an upload stored as it came (before
        # refinement) waits for `datadao data refine-stored`.
        Contribution.schema_id.is_not(None),
    )
    .order_by(Contribution.id)
    .limit(bindparam("rows"))
)
OWN_KEYS = LIVE_KEYS.where(Contribution.contributor == bindparam("contributor"))


@functools.lru_cache(maxsize=4096)
def checksum_address(public_key: bytes) -> str:
    """The checksum address of a 64-byte public key: two keccaks and eth_utils' checks,
    ~60 us, remembered per key (a renter's wallet signs every release it asks for)."""
    return PublicKey(public_key).to_checksum_address()


class ReleaseSettings(Protocol):
    @property
    def challenge_ttl_seconds(self) -> int: ...

    @property
    def key_refusals_per_client_per_minute(self) -> int: ...


class CursorTags(Protocol):
    """What tags the cursors a release hands out (the service's custody MAC, a node's own)."""

    def mac(self, message: str) -> str: ...


class Deployment(Protocol):
    @property
    def chain_id(self) -> int: ...

    @property
    def access_registry(self) -> str: ...


class Grants(Protocol):
    def remembered(self, dataset_id: int, account: str) -> Grant | None: ...

    def grant(self, dataset_id: int, account: str) -> Grant: ...


@dataclass(frozen=True)
class SignedRequest:
    """A renter's request for the first page, and its signature of `challenge_text`."""

    address: str
    dataset_id: int
    chain_id: int
    nonce: str
    expires_at: int
    signature: bytes

    @classmethod
    def of(cls, body: Any) -> "SignedRequest":
        """From a request body of the same fields (`api.schemas.ReleaseRequest`), its
        signature in 0x-hex."""
        return cls(
            body.address, body.dataset_id, body.chain_id, body.nonce, body.expires_at,
            bytes.fromhex(body.signature.removeprefix("0x")),
        )  # fmt: skip


@dataclass(frozen=True)
class PageWanted:
    """Whose keys, after which contribution, how many, sealed to which public key, and
    until when the next page's cursor is good (None: from now, a new fetch)."""

    address: str
    dataset_id: int
    public_key: PublicKey
    after: int
    limit: int
    cursor_expires: int | None


@dataclass(frozen=True)
class ReleasedPage:
    address: str
    dataset_id: int
    keys: list["ReleasedKey"]
    cursor: str | None  # asks for the next page; None after the last


@dataclass(frozen=True)
class ReleasedKey:
    contribution_id: str
    cid: str
    sha256: str
    iv: bytes
    encrypted_key: bytes
    share_index: int | None = None  # a custody node's release: which share of the key


class KeyReleaseService:
    """The checks of a signature, a cursor or an expiry run on the event loop (they are
    CPU only, tens of microseconds); the grant and the keys run there too when nothing
    can wait (the grant known for this block, a local SQLite file), otherwise in a worker
    thread; then the release waits for its commit."""

    HELD_OFF_LIMIT = 10_000  # client addresses remembered as held off, at most
    HELD_OFF_SECONDS = 60  # the refusals' counting window, and how long a client waits

    # The rows released: the live keys of a dataset, and a contributor's own. A custody
    # node releases its shares instead (`dao_service.custody.release`).
    live_keys = LIVE_KEYS
    own_keys = OWN_KEYS

    def __init__(
        self,
        settings: ReleaseSettings,
        engine: Engine,
        custody: CursorTags,
        chain: Callable[[], Deployment],
        grants: Grants,
    ) -> None:
        self.settings, self.engine, self.custody = settings, engine, custody
        self._chain, self.grants = chain, grants
        self.log = ReleaseLog(engine)
        self.sealing = SealingKeys()
        self.limiter = RateLimiter(session_factory(engine))
        self._held_off: dict[str, float] = {}  # client address -> held off until (monotonic)
        self._local_database = engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.log.close()

    @property
    def chain_id(self) -> int:
        return self._chain().chain_id

    def challenge(self, address: str, dataset_id: int) -> tuple[str, str, int]:
        """(nonce, text to sign, expiry). Nothing is stored: the release carries the
        nonce and expiry back, and only their use is recorded."""
        deployment = self._chain()
        expires = int(time.time()) + self.settings.challenge_ttl_seconds
        nonce = secrets.token_hex(16)
        text = challenge_text(
            address, dataset_id, deployment.chain_id, deployment.access_registry, nonce, expires
        )
        return nonce, text, expires

    async def release(self, request: SignedRequest, limit: int, client: str = "") -> ReleasedPage:
        """The first page, on a signed request from `client` (its network address)."""
        self._admit(client)
        try:
            public_key, signer = self._signer(request)
            challenge = UsedChallenge(request.nonce, signer, request.expires_at)
            page = PageWanted(signer, request.dataset_id, public_key, 0, limit, None)
            return await self._page(page, challenge)
        except ChallengeReplayed:
            raise
        except KeyRefused as refusal:
            await self._refused(request.dataset_id, f"challenge {request.nonce}", refusal, client)
            raise

    async def next_page(self, cursor: str, limit: int, client: str = "") -> ReleasedPage:
        """The page after the one `cursor` ended."""
        self._admit(client)
        parts = cursor.split(".")
        try:
            if len(parts) != 6 or not hmac.compare_digest(
                self.custody.mac(".".join(parts[:-1])), parts[-1]
            ):
                raise KeyRefused("unknown cursor: start the fetch again")
            address, dataset_text, after_text, expires_text, public_hex = parts[:5]
            if int(expires_text) < time.time():
                raise KeyRefused("the cursor has expired: start the fetch again")
            public_key = PublicKey(bytes.fromhex(public_hex))
            page = PageWanted(
                address, int(dataset_text), public_key, int(after_text), limit, int(expires_text)
            )
            return await self._page(page)
        except KeyRefused as refusal:
            dataset_id = int(parts[1]) if len(parts) == 6 and parts[1].isdigit() else None
            await self._refused(dataset_id, f"cursor {cursor[:60]}", refusal, client)
            raise

    def _admit(self, client: str) -> None:
        if client and self._held_off.get(client, 0.0) > time.monotonic():
            raise KeyRequestsLimited(
                "Too many refused key requests from this address; try again in a minute."
            )

    async def _refused(
        self, dataset_id: int | None, what: str, refusal: KeyRefused, client: str
    ) -> None:
        """Audit the refusal; a client refused too often is held off for a minute (each
        refusal may have cost a chain lookup, and anyone can sign with a new wallet)."""
        await self.log.record(
            LogEntry(None, dataset_id, "refused", f"{what}: {refusal.user_message}")
        )
        if not client:
            return
        allowed = await anyio.to_thread.run_sync(
            self.limiter.allow,
            f"key-refusals:{client}",
            self.settings.key_refusals_per_client_per_minute,
            self.HELD_OFF_SECONDS,
        )
        if not allowed:
            now = time.monotonic()
            if len(self._held_off) >= self.HELD_OFF_LIMIT:
                self._held_off = {c: t for c, t in self._held_off.items() if t > now}
            self._held_off[client] = now + self.HELD_OFF_SECONDS

    def _signer(self, request: SignedRequest) -> tuple[PublicKey, str]:
        """The public key and checksum address of the wallet that signed this request,
        if all is in order."""
        deployment = self._chain()
        if request.chain_id != deployment.chain_id:
            raise KeyRefused(
                f"wrong chain: signed for chain {request.chain_id}, this DAO is on chain "
                f"{deployment.chain_id}"
            )
        now, expires_at = time.time(), request.expires_at
        if expires_at < now:
            raise KeyRefused("the challenge has expired: ask for a new one")
        if expires_at > now + self.settings.challenge_ttl_seconds + CLOCK_SKEW:
            raise KeyRefused(
                f"the challenge expires too late: at most {self.settings.challenge_ttl_seconds} "
                "s from now"
            )
        text = challenge_text(
            request.address,
            request.dataset_id,
            request.chain_id,
            deployment.access_registry,
            request.nonce,
            expires_at,
        )
        public_key = recover_public_key(text, request.signature)
        if public_key is None:
            raise KeyRefused("the signature is malformed")
        signer = checksum_address(public_key.to_bytes())
        if signer.lower() != request.address.lower():
            raise KeyRefused(f"the challenge is signed by {signer}, not by {request.address}")
        return public_key, signer

    async def _page(self, page: PageWanted, challenge: UsedChallenge | None = None) -> ReleasedPage:
        grant = self.grants.remembered(page.dataset_id, page.address)
        if grant is not None and self._local_database:
            # The common case: nothing to wait for (a read of a local file), and a hop to
            # a worker thread would cost more than the work (bench/RESULTS.md).
            released, cursor = self._keys(page, grant, on_loop=True)
        else:  # the chain, the network, or another process's write may be waited for
            released, cursor = await anyio.to_thread.run_sync(self._keys, page, grant)
        # Answered only once the challenge is used up and the release audited.
        how = f"challenge {challenge.nonce}" if challenge else f"after {page.after}"
        detail = f"{len(released)} keys, {how}"
        entry = LogEntry(page.address, page.dataset_id, "released", detail, challenge)
        if not await self.log.record(entry):
            raise ChallengeReplayed(REPLAYED)
        return ReleasedPage(page.address, page.dataset_id, released, cursor)

    def _keys(
        self, page: PageWanted, grant: Grant | None, on_loop: bool = False
    ) -> tuple[list[ReleasedKey], str | None]:
        """The page's keys sealed to the renter's key, and the cursor of the next page
        (`on_loop`: called on the event loop, not in a worker thread)."""
        address, dataset_id, after = page.address, page.dataset_id, page.after
        try:
            can_decrypt, expires, revoked = grant or self.grants.grant(dataset_id, address)
            # The chain answers as of its latest block; on a chain that makes no new blocks
            # that time stands still, so an expired grant is also checked against the clock.
            can_decrypt = can_decrypt and expires > time.time()
            statement = self.live_keys if can_decrypt else self.own_keys  # their own, always
            wanted = {"dataset_id": dataset_id, "after": after, "rows": page.limit + 1}
            read = self._rows_on_loop if on_loop else self._rows
            rows = read(statement, {**wanted, "contributor": address})
        except (SQLAlchemyError, sqlite3.Error, OSError, Web3Exception) as exc:
            raise StackError(
                "The chain or the database did not answer the key release; try again shortly."
            ) from exc
        if not can_decrypt and not rows and after == 0:
            raise KeyRefused(self._why_not(expires, revoked, dataset_id))
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        public_key = page.public_key.to_bytes()
        released = self._encrypt(rows, public_key)
        cursor = None
        if more:
            until = page.cursor_expires or int(time.time()) + CURSOR_TTL
            fields = f"{address}.{dataset_id}.{rows[-1].id}.{until}.{public_key.hex()}"
            cursor = f"{fields}.{self.custody.mac(fields)}"
        return released, cursor

    def _rows(self, statement: Select, params: dict[str, Any]) -> Sequence[Any]:
        with self.engine.connect() as connection:
            return connection.execute(statement, params).all()

    def _rows_on_loop(self, statement: Select, params: dict[str, Any]) -> Sequence[Any]:
        """The same read, on the event loop (a custody node reads its SQLite file itself)."""
        return self._rows(statement, params)

    @staticmethod
    def _why_not(expires: int, revoked: bool, dataset_id: int) -> str:
        if expires == 0:
            return f"no access grant for dataset {dataset_id}"
        if revoked:
            return f"the access grant for dataset {dataset_id} was revoked"
        ended = datetime.fromtimestamp(expires, UTC)
        return f"the access grant for dataset {dataset_id} expired at {ended:%Y-%m-%d %H:%M} UTC"

    def _encrypt(self, rows: Sequence[Any], public_key: bytes) -> list[ReleasedKey]:
        assert isinstance(self.custody, CustodyKey)  # the service's release unwraps
        file_keys = [self.custody.unwrap(row.wrapped_key) for row in rows]
        sealed = self.sealing.seal(public_key, file_keys)
        return [
            ReleasedKey(row.public_id, row.cid, row.refined_sha256, row.iv, key)
            for row, key in zip(rows, sealed, strict=True)
        ]
