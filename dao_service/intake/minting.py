"""Mint stored contributions: sign each attestation and relay them to the registry (many
in one `contributeBatch`), unless the chain already records a fingerprint (a crash after
sending, or another worker), so each is minted exactly once."""

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import Attestation
from dao_service.chain.dao import ChainRefused
from dao_service.intake.queue import advance
from dao_service.models import Contribution, Stage

DEADLINE_MARGIN = 60  # seconds: a deadline nearer than this is renewed before sending


class RegistryChain(Protocol):
    """What minting needs of the chain (`DaoChain`; a fake in unit tests)."""

    def sign(self, attestation: Attestation) -> bytes: ...
    def recorded_contributor(self, fingerprint: bytes) -> str | None: ...
    def record(self, attestation: Attestation, signature: bytes) -> str: ...
    def record_batch(self, signed: list[tuple[Attestation, bytes]]) -> tuple[str, set[bytes]]: ...
    def recording_tx(self, fingerprint: bytes) -> str | None: ...
    def now(self) -> int: ...


def attestation(contribution: Contribution, deadline: int) -> Attestation:
    assert contribution.fingerprint and contribution.cid
    return Attestation(
        contributor=contribution.contributor,
        dataset_id=contribution.dataset_id,
        fingerprint=bytes.fromhex(contribution.fingerprint[2:]),
        cid=contribution.cid,
        score=contribution.score,
        deadline=deadline,
        nonce=contribution.id,
    )


def _fingerprint(contribution: Contribution) -> bytes:
    assert contribution.fingerprint
    return bytes.fromhex(contribution.fingerprint[2:])


def _already_recorded(
    sessions: sessionmaker[Session], chain: RegistryChain, contribution: Contribution
) -> bool:
    """True (and the row marked minted) if the chain records the fingerprint for this
    contributor; ChainRefused if for someone else; False if not recorded."""
    recorded = chain.recorded_contributor(_fingerprint(contribution))
    if recorded is None:
        return False
    if recorded.lower() != contribution.contributor.lower():
        raise ChainRefused(f"the fingerprint is recorded for another contributor ({recorded})")
    tx_hash = chain.recording_tx(_fingerprint(contribution))
    advance(sessions, contribution, stage=Stage.MINTED, tx_hash=tx_hash, last_error=None)
    return True


def _signed(
    sessions: sessionmaker[Session], chain: RegistryChain, ttl: int, contribution: Contribution
) -> tuple[Attestation, bytes]:
    deadline = contribution.attestation_deadline or 0
    if deadline <= chain.now() + DEADLINE_MARGIN:
        deadline = chain.now() + ttl
    signed = attestation(contribution, deadline)
    signature = chain.sign(signed)
    # The receipt carries it even if minting waits (the contributor may submit it).
    advance(
        sessions,
        contribution,
        attestation_deadline=deadline,
        attestation_signature="0x" + signature.hex(),
    )
    return signed, signature


def mint(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    attestation_ttl: int,
    contribution: Contribution,
) -> None:
    if _already_recorded(sessions, chain, contribution):
        return
    tx_hash = chain.record(*_signed(sessions, chain, attestation_ttl, contribution))
    advance(sessions, contribution, stage=Stage.MINTED, tx_hash=tx_hash, last_error=None)


def mint_batch(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    attestation_ttl: int,
    contributions: list[Contribution],
) -> list[tuple[Contribution, ChainRefused]]:
    """Mint all in one transaction when several wait; returns the ones the chain refused.
    A batch the registry reverts is retried one by one, so one bad item delays no other."""
    refused: list[tuple[Contribution, ChainRefused]] = []
    waiting: list[Contribution] = []
    for contribution in contributions:
        try:
            if not _already_recorded(sessions, chain, contribution):
                waiting.append(contribution)
        except ChainRefused as exc:
            refused.append((contribution, exc))
    if len(waiting) == 1:
        try:
            mint(sessions, chain, attestation_ttl, waiting[0])
        except ChainRefused as exc:
            refused.append((waiting[0], exc))
        return refused
    if not waiting:
        return refused
    signed = [_signed(sessions, chain, attestation_ttl, c) for c in waiting]
    try:
        tx_hash, recorded = chain.record_batch(signed)
    except ChainRefused:
        for contribution in waiting:
            try:
                mint(sessions, chain, attestation_ttl, contribution)
            except ChainRefused as exc:
                refused.append((contribution, exc))
        return refused
    for contribution in waiting:
        if _fingerprint(contribution) in recorded:
            advance(sessions, contribution, stage=Stage.MINTED, tx_hash=tx_hash, last_error=None)
        else:  # recorded meanwhile by another transaction: find which
            try:
                if not _already_recorded(sessions, chain, contribution):
                    raise ChainRefused("the batch neither recorded nor skipped it")
            except ChainRefused as exc:
                refused.append((contribution, exc))
    return refused
