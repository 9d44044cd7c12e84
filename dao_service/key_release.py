"""Key release: a renter proves its wallet with a signed challenge; if AccessRegistry says
it may decrypt the dataset, it receives every live file key ECIES-encrypted to its own
public key. Contributors may always fetch the keys of their own contributions. Every
release and refusal is written to the audit log."""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.challenges import challenge_text, recover_public_key
from dao_service.chain.dao import DaoChain
from dao_service.core.config import Settings
from dao_service.custody import CustodyKey, encrypt_to_public_key
from dao_service.exceptions import DataDaoError
from dao_service.models import AuditEvent, Contribution, KeyChallenge, Stage


class KeyRefused(DataDaoError, PermissionError):
    """The release is refused; the message says why (HTTP 403)."""


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

    def challenge(self, address: str, dataset_id: int) -> tuple[KeyChallenge, str]:
        chain = self._chain()
        expires = datetime.now(UTC) + timedelta(seconds=self.settings.challenge_ttl_seconds)
        challenge = KeyChallenge(nonce=secrets.token_hex(16), address=address, expires_at=expires)
        with self.sessions.begin() as session:
            session.add(challenge)
        text = challenge_text(
            address, dataset_id, chain.chain_id, challenge.nonce, int(expires.timestamp())
        )
        return challenge, text

    def release(
        self, nonce: str, dataset_id: int, chain_id: int, signature: bytes
    ) -> tuple[str, list[ReleasedKey]]:
        try:
            address, keys = self._release(nonce, dataset_id, chain_id, signature)
        except KeyRefused as refusal:
            self._audit(
                "key_release",
                None,
                dataset_id,
                "refused",
                f"challenge {nonce}: {refusal.user_message}",
            )
            raise
        self._audit(
            "key_release", address, dataset_id, "released", f"{len(keys)} keys, challenge {nonce}"
        )
        return address, keys

    def _release(
        self, nonce: str, dataset_id: int, chain_id: int, signature: bytes
    ) -> tuple[str, list[ReleasedKey]]:
        chain = self._chain()
        with self.sessions() as session:
            challenge = session.get(KeyChallenge, nonce)
        if challenge is None:
            raise KeyRefused("unknown challenge: ask for a new one")
        if challenge.used:
            raise KeyRefused("the challenge was already used")
        expires_at = challenge.expires_at.replace(tzinfo=UTC)
        if expires_at < datetime.now(UTC):
            raise KeyRefused("the challenge has expired: ask for a new one")
        if chain_id != chain.chain_id:
            raise KeyRefused(
                f"wrong chain: signed for chain {chain_id}, this DAO is on chain {chain.chain_id}"
            )
        text = challenge_text(
            challenge.address, dataset_id, chain_id, nonce, int(expires_at.timestamp())
        )
        public_key = recover_public_key(text, signature)
        if public_key is None:
            raise KeyRefused("the signature is malformed")
        signer = public_key.to_checksum_address()
        if signer.lower() != challenge.address.lower():
            raise KeyRefused(f"the challenge is signed by {signer}, not by {challenge.address}")
        with self.sessions.begin() as session:  # one use only, even under concurrent requests
            claimed = session.execute(
                update(KeyChallenge)
                .where(KeyChallenge.nonce == nonce, KeyChallenge.used.is_(False))
                .values(used=True)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise KeyRefused("the challenge was already used")

        can_decrypt, expires, revoked = chain.grant(dataset_id, signer)
        query = select(Contribution).where(
            Contribution.dataset_id == dataset_id,
            Contribution.stage == Stage.MINTED,
            Contribution.withdrawn.is_(False),
            Contribution.wrapped_key.is_not(None),
        )
        if not can_decrypt:
            with self.sessions() as session:
                own = session.scalars(query.where(Contribution.contributor == signer)).all()
            if not own:
                raise KeyRefused(self._why_not(expires, revoked, dataset_id))
            return signer, self._encrypt(own, public_key.to_bytes())
        with self.sessions() as session:
            rows = session.scalars(query.order_by(Contribution.id)).all()
        return signer, self._encrypt(rows, public_key.to_bytes())

    @staticmethod
    def _why_not(expires: int, revoked: bool, dataset_id: int) -> str:
        if expires == 0:
            return f"no access grant for dataset {dataset_id}"
        if revoked:
            return f"the access grant for dataset {dataset_id} was revoked"
        ended = datetime.fromtimestamp(expires, UTC)
        return f"the access grant for dataset {dataset_id} expired at {ended:%Y-%m-%d %H:%M} UTC"

    def _encrypt(self, rows: Sequence[Contribution], public_key: bytes) -> list[ReleasedKey]:
        released = []
        for row in rows:
            assert row.wrapped_key is not None and row.cid is not None
            file_key = self.custody.unwrap(row.wrapped_key)
            released.append(
                ReleasedKey(
                    row.public_id,
                    row.cid,
                    row.plaintext_sha256,
                    row.iv,
                    encrypt_to_public_key(public_key, file_key),
                )
            )
        return released

    def _audit(
        self, action: str, address: str | None, dataset_id: int | None, outcome: str, detail: str
    ) -> None:
        with self.sessions.begin() as session:
            session.add(
                AuditEvent(
                    action=action,
                    address=address,
                    dataset_id=dataset_id,
                    outcome=outcome,
                    detail=detail,
                )
            )
