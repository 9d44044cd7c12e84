"""Key release: a renter proves its wallet with a signed challenge; if AccessRegistry says
it may decrypt the dataset, it receives every live file key ECIES-encrypted to its own
public key. Contributors may always fetch the keys of their own contributions. Every
release and refusal is written to the audit log."""

import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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
        self, challenge_id: str, dataset_id: int, chain_id: int, signature: bytes
    ) -> tuple[str, list[ReleasedKey]]:
        try:
            return self._release(challenge_id, dataset_id, chain_id, signature)
        except KeyRefused as refusal:
            detail = f"challenge {challenge_id[:140]}: {refusal.user_message}"
            with self.sessions.begin() as session:
                session.add(self._audit(None, dataset_id, "refused", detail))
            raise

    def _release(
        self, challenge_id: str, dataset_id: int, chain_id: int, signature: bytes
    ) -> tuple[str, list[ReleasedKey]]:
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

        can_decrypt, expires, revoked = chain.grant(dataset_id, signer)
        query = select(Contribution).where(
            Contribution.dataset_id == dataset_id,
            Contribution.stage == Stage.MINTED,
            Contribution.withdrawn.is_(False),
            Contribution.wrapped_key.is_not(None),
        )
        if not can_decrypt:
            query = query.where(Contribution.contributor == signer)  # their own, always
        with self.sessions() as session:
            rows = session.scalars(query.order_by(Contribution.id)).all()
        if not can_decrypt and not rows:
            raise KeyRefused(self._why_not(expires, revoked, dataset_id))
        keys = self._encrypt(rows, public_key.to_bytes())
        # One transaction: the challenge is used up and the release audited, or neither.
        try:
            with self.sessions.begin() as session:
                used_until = datetime.fromtimestamp(int(expires_text), UTC)
                session.add(
                    KeyChallenge(nonce=nonce, address=signer, expires_at=used_until, used=True)
                )
                detail = f"{len(keys)} keys, challenge {nonce}"
                session.add(self._audit(signer, dataset_id, "released", detail))
        except IntegrityError:
            raise KeyRefused("the challenge was already used") from None
        return signer, keys

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

    @staticmethod
    def _audit(address: str | None, dataset_id: int, outcome: str, detail: str) -> AuditEvent:
        return AuditEvent(
            action="key_release",
            address=address,
            dataset_id=dataset_id,
            outcome=outcome,
            detail=detail,
        )
