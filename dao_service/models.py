"""Database tables (SQLAlchemy 2). The schema is created and migrated by Alembic
(`dao_service/migrations`); these classes are how the code reads and writes it."""

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Stage(enum.StrEnum):
    """A contribution's progress; each is persisted before the next begins."""

    RECEIVED = "received"
    VALIDATED = "validated"
    STORED = "stored"
    MINTING = "minting"  # sent: counts as minted once its transaction is confirmed
    MINTED = "minted"
    REJECTED = "rejected"


class Contribution(Base):
    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    contributor: Mapped[str] = mapped_column(String(42), index=True)
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(32))
    plaintext_sha256: Mapped[str] = mapped_column(String(66))
    statement_nonce: Mapped[str] = mapped_column(String(64), unique=True)
    stage: Mapped[Stage] = mapped_column(Enum(Stage, native_enum=False, length=16), index=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str | None] = mapped_column(String(66), unique=True, nullable=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    # The stored blob is the contribution's refined records (Parquet), encrypted under a
    # key the service made; that key, wrapped under the custody key, NULL once destroyed.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Or the custody node set (CustodyNodeSet's epoch) the key was split for: its nodes
    # hold the shares, whatever set is current later.
    custody_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    iv: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext_size: Mapped[int] = mapped_column(Integer)
    cid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    refined_sha256: Mapped[str | None] = mapped_column(String(66), nullable=True)
    record_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # NULL: stored as uploaded (before refinement); `datadao data refine-stored` mends it.
    schema_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    account_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    attestation_deadline: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attestation_signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the account's proven owner took back the binding this contribution was made
    # under (without proof): from then on it is neither released nor valued, and it
    # awaits a DAO proposal to void it (GET /api/ownership/disowned lists them).
    disowned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The work queue: the worker holding an unexpired lease is the only one advancing it.
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class RateCount(Base):
    """Uploads counted under one rate-limit key in one fixed window (its number since the
    epoch, in window lengths)."""

    __tablename__ = "rate_counts"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)


class GrantSnapshot(Base):
    """An account's access grant to a dataset as the chain answered at `block_number`:
    the grant cache every API process shares (one chain question per block and account)."""

    __tablename__ = "grant_snapshots"

    dataset_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    can_decrypt: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked: Mapped[bool] = mapped_column(Boolean)


class StatementNonce(Base):
    """A nonce the service issued for one contribution statement; used once."""

    __tablename__ = "statement_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    wallet: Mapped[str] = mapped_column(String(42))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class ValidatorVerdict(Base):
    """A co-validator node's own verdict on one upload it was asked to judge (its own
    database): what it signs attestations against."""

    __tablename__ = "validator_verdicts"

    statement_nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    contributor: Mapped[str] = mapped_column(String(42))
    contribution_id: Mapped[str] = mapped_column(String(36))
    accepted: Mapped[bool] = mapped_column(Boolean)  # its own judgement of the export
    agreed: Mapped[bool] = mapped_column(Boolean)  # with the collecting node's proposal
    fingerprint: Mapped[str | None] = mapped_column(String(66), index=True, nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    refined_sha256: Mapped[str | None] = mapped_column(String(66), nullable=True)
    # SHA-256 of its refinement sealed with the proposal's key: the stored blob's content.
    sealed_sha256: Mapped[str | None] = mapped_column(String(66), nullable=True)
    # The platform account it bound the export to (the dedup index's hash), as attested:
    # the registry keys mint budgets by it.
    account_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KeyChallenge(Base):
    """A key-release challenge that has been used. Challenges are issued without storage
    (or composed by the renter); this table makes each nonce usable once."""

    __tablename__ = "key_challenges"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """Every key release, refusal and withdrawal."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    dataset_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)


class ValidationSample(Base):
    """A renter's validation sample, stored encrypted on IPFS like an upload; a rental
    records its SHA-256 and size on-chain, by which the service finds it here."""

    __tablename__ = "validation_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(66), unique=True, index=True)
    renter: Mapped[str] = mapped_column(String(42))
    size: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    cid: Mapped[str] = mapped_column(String(128))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)  # under the custody key
    iv: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CustodyShare(Base):
    """A custody node's share of one contribution's file key (the node's own database):
    `stored_share` is the share encrypted under the node's storage key, so the database
    alone holds nothing usable, and the key file with it holds one share of M needed."""

    __tablename__ = "custody_shares"

    # The service's contribution id (its sequence): every node pages in the same order.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    contribution_id: Mapped[str] = mapped_column(String(36), unique=True)
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    contributor: Mapped[str] = mapped_column(String(42), index=True)
    fingerprint: Mapped[str] = mapped_column(String(66), unique=True)
    cid: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(66))
    iv: Mapped[bytes] = mapped_column(LargeBinary)
    share_index: Mapped[int] = mapped_column(Integer)
    stored_share: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingShare(Base):
    """A share of a contribution's file key sealed (ECIES) to one custody node, waiting to
    be delivered; deleted once that node holds it. Only that node's key opens it."""

    __tablename__ = "pending_shares"

    contribution_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("contributions.id"), primary_key=True
    )
    node_public_key: Mapped[str] = mapped_column(String(130), primary_key=True)
    sealed_share: Mapped[bytes] = mapped_column(LargeBinary)


class EarningsTable(Base):
    """One settled rental: the published table (contribution, value, amount) and the
    cumulative root it gave its dataset. Wei amounts are decimal strings (above 2^63)."""

    __tablename__ = "earnings_tables"
    __table_args__ = (UniqueConstraint("dataset_id", "epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rental_id: Mapped[int] = mapped_column(Integer, unique=True)
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    cid: Mapped[str] = mapped_column(String(128))
    root: Mapped[str] = mapped_column(String(66))
    total: Mapped[str] = mapped_column(String(80))
    settled_funding: Mapped[str] = mapped_column(String(80))  # payments split so far
    # Per source: [measured value of its records, records measured] (the demand line).
    demand: Mapped[dict[str, Any]] = mapped_column(JSON)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
