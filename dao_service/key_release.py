"""Key release: a renter proves its wallet with a signed challenge; if AccessRegistry says
it may decrypt the dataset, it receives the live file keys ECIES-encrypted to its own
public key, a page at a time. Contributors may always fetch the keys of their own
contributions. Every release and refusal is written to the audit log.

Paging: each page ends with a cursor (MAC'd by the service, bound to the address, the
dataset, the public key and the last contribution sent, valid for a while) that asks for
the next page without another signature; the grant is checked again for every page, so
a revoked renter gets no further page."""

import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_keys.datatypes import PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.challenges import challenge_text, recover_public_key
from dao_service.chain.dao import DaoChain
from dao_service.core.config import Settings
from dao_service.custody import CustodyKey, encrypt_many_to_public_key
from dao_service.exceptions import DataDaoError
from dao_service.models import AuditEvent, Contribution, KeyChallenge, Stage

CURSOR_TTL = 3600  # seconds a fetch may take between its challenge and its last page


class KeyRefused(DataDaoError, PermissionError):
    """The release is refused; the message says why (HTTP 403)."""


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


class KeyReleaseService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        custody: CustodyKey,
        chain: Callable[[], DaoChain],
    ) -> None:
        self.settings, self.sessions, self.custody, self._chain = settings, sessions, custody, chain

    @property
    def chain_id(self) -> int:
        return self._chain().chain_id

    def challenge(self, address: str, dataset_id: int) -> tuple[str, str, int]:
        """(challenge id, text to sign, expiry). Nothing is stored: the id carries its
        fields and the service's MAC over them; only its use is recorded."""
        chain = self._chain()
        expires = int(datetime.now(UTC).timestamp()) + self.settings.challenge_ttl_seconds
        fields = f"{address}.{dataset_id}.{chain.chain_id}.{expires}.{secrets.token_hex(16)}"
        challenge_id = f"{fields}.{self.custody.mac(fields)}"
        nonce = fields.rsplit(".", 1)[1]
        return (
            challenge_id,
            challenge_text(address, dataset_id, chain.chain_id, nonce, expires),
            expires,
        )

    def release(
        self, challenge_id: str, dataset_id: int, chain_id: int, signature: bytes, limit: int
    ) -> ReleasedPage:
        """The first page, on a signed challenge."""
        try:
            return self._release(challenge_id, dataset_id, chain_id, signature, limit)
        except KeyRefused as refusal:
            self._refused(dataset_id, f"challenge {challenge_id[:140]}", refusal)
            raise

    def next_page(self, cursor: str, limit: int) -> ReleasedPage:
        """The page after the one `cursor` ended."""
        parts = cursor.split(".")
        try:
            if len(parts) != 6 or not hmac.compare_digest(
                self.custody.mac(".".join(parts[:-1])), parts[-1]
            ):
                raise KeyRefused("unknown cursor: start the fetch again")
            address, dataset_text, after_text, expires_text, public_hex = parts[:5]
            if int(expires_text) < datetime.now(UTC).timestamp():
                raise KeyRefused("the cursor has expired: start the fetch again")
            public_key = PublicKey(bytes.fromhex(public_hex))
            return self._page(
                address, int(dataset_text), public_key, int(after_text), limit, int(expires_text)
            )
        except KeyRefused as refusal:
            self._refused(int(parts[1]) if len(parts) == 6 and parts[1].isdigit() else None,
                          f"cursor {cursor[:60]}", refusal)  # fmt: skip
            raise

    def _refused(self, dataset_id: int | None, what: str, refusal: KeyRefused) -> None:
        with self.sessions.begin() as session:
            session.add(self._audit(None, dataset_id, "refused", f"{what}: {refusal.user_message}"))

    def _release(
        self, challenge_id: str, dataset_id: int, chain_id: int, signature: bytes, limit: int
    ) -> ReleasedPage:
        chain = self._chain()
        parts = challenge_id.split(".")
        fields = ".".join(parts[:-1])
        if len(parts) != 6 or not hmac.compare_digest(self.custody.mac(fields), parts[-1]):
            raise KeyRefused("unknown challenge: ask for a new one")
        address, issued_dataset, issued_chain, expires_text, nonce = parts[:5]
        if int(issued_dataset) != dataset_id:
            raise KeyRefused(
                f"the challenge was issued for dataset {issued_dataset}, not {dataset_id}"
            )
        if int(expires_text) < datetime.now(UTC).timestamp():
            raise KeyRefused("the challenge has expired: ask for a new one")
        if chain_id != chain.chain_id or int(issued_chain) != chain.chain_id:
            raise KeyRefused(
                f"wrong chain: signed for chain {chain_id}, this DAO is on chain {chain.chain_id}"
            )
        text = challenge_text(address, dataset_id, chain_id, nonce, int(expires_text))
        public_key = recover_public_key(text, signature)
        if public_key is None:
            raise KeyRefused("the signature is malformed")
        signer = public_key.to_checksum_address()
        if signer.lower() != address.lower():
            raise KeyRefused(f"the challenge is signed by {signer}, not by {address}")

        used_until = datetime.fromtimestamp(int(expires_text), UTC)
        challenge = KeyChallenge(nonce=nonce, address=signer, expires_at=used_until, used=True)
        return self._page(signer, dataset_id, public_key, 0, limit, None, challenge)

    def _page(
        self,
        address: str,
        dataset_id: int,
        public_key: PublicKey,
        after: int,
        limit: int,
        cursor_expires: int | None,
        challenge: KeyChallenge | None = None,
    ) -> ReleasedPage:
        can_decrypt, expires, revoked = self._chain().grant(dataset_id, address)
        # The chain answers as of its latest block; on a chain that makes no new blocks
        # that time stands still, so an expired grant is also checked against the clock.
        can_decrypt = can_decrypt and expires > time.time()
        query = select(
            Contribution.id,
            Contribution.public_id,
            Contribution.cid,
            Contribution.plaintext_sha256,
            Contribution.iv,
            Contribution.wrapped_key,
        ).where(
            Contribution.dataset_id == dataset_id,
            Contribution.id > after,
            Contribution.stage == Stage.MINTED,
            Contribution.withdrawn.is_(False),
            Contribution.wrapped_key.is_not(None),
        )
        if not can_decrypt:
            query = query.where(Contribution.contributor == address)  # their own, always
        with self.sessions() as session:
            rows = session.execute(query.order_by(Contribution.id).limit(limit + 1)).all()
        if not can_decrypt and not rows and after == 0:
            raise KeyRefused(self._why_not(expires, revoked, dataset_id))
        more = len(rows) > limit
        rows = rows[:limit]
        released = self._encrypt(rows, public_key.to_bytes())
        cursor = None
        if more:
            until = cursor_expires or int(datetime.now(UTC).timestamp()) + CURSOR_TTL
            fields = f"{address}.{dataset_id}.{rows[-1].id}.{until}.{public_key.to_bytes().hex()}"
            cursor = f"{fields}.{self.custody.mac(fields)}"
        # One transaction: the challenge is used up and the release audited, or neither.
        try:
            with self.sessions.begin() as session:
                if challenge is not None:
                    session.add(challenge)
                how = f"challenge {challenge.nonce}" if challenge else f"after {after}"
                detail = f"{len(released)} keys, {how}"
                session.add(self._audit(address, dataset_id, "released", detail))
        except IntegrityError:
            raise KeyRefused("the challenge was already used") from None
        return ReleasedPage(address, dataset_id, released, cursor)

    @staticmethod
    def _why_not(expires: int, revoked: bool, dataset_id: int) -> str:
        if expires == 0:
            return f"no access grant for dataset {dataset_id}"
        if revoked:
            return f"the access grant for dataset {dataset_id} was revoked"
        ended = datetime.fromtimestamp(expires, UTC)
        return f"the access grant for dataset {dataset_id} expired at {ended:%Y-%m-%d %H:%M} UTC"

    def _encrypt(self, rows: Sequence[Any], public_key: bytes) -> list[ReleasedKey]:
        file_keys = [self.custody.unwrap(row.wrapped_key) for row in rows]
        sealed = encrypt_many_to_public_key(public_key, file_keys)
        return [
            ReleasedKey(row.public_id, row.cid, row.plaintext_sha256, row.iv, key)
            for row, key in zip(rows, sealed, strict=True)
        ]

    @staticmethod
    def _audit(
        address: str | None, dataset_id: int | None, outcome: str, detail: str
    ) -> AuditEvent:
        return AuditEvent(
            action="key_release",
            address=address,
            dataset_id=dataset_id,
            outcome=outcome,
            detail=detail,
        )
