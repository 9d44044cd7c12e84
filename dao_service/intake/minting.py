"""Mint a stored contribution: sign its attestation and relay it to the registry, unless
the chain already records the fingerprint (a crash after sending), exactly once."""

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import Attestation
from dao_service.chain.dao import ChainRefused
from dao_service.models import Contribution, Stage

DEADLINE_MARGIN = 60  # seconds: a deadline nearer than this is renewed before sending


class RegistryChain(Protocol):
    """What minting needs of the chain (`DaoChain`; a fake in unit tests)."""

    def sign(self, attestation: Attestation) -> bytes: ...
    def recorded_contributor(self, fingerprint: bytes) -> str | None: ...
    def record(self, attestation: Attestation, signature: bytes) -> str: ...
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


def mint(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    attestation_ttl: int,
    contribution: Contribution,
) -> None:
    assert contribution.fingerprint
    fingerprint = bytes.fromhex(contribution.fingerprint[2:])
    recorded = chain.recorded_contributor(fingerprint)
    if recorded is None:
        deadline = contribution.attestation_deadline or 0
        if deadline <= chain.now() + DEADLINE_MARGIN:
            deadline = chain.now() + attestation_ttl
        signed = attestation(contribution, deadline)
        signature = chain.sign(signed)
        with sessions.begin() as session:  # the receipt carries it even if minting waits
            row = session.get(Contribution, contribution.id)
            assert row is not None
            row.attestation_deadline, row.attestation_signature = deadline, "0x" + signature.hex()
        tx_hash = chain.record(signed, signature)
    elif recorded.lower() == contribution.contributor.lower():
        tx_hash = chain.recording_tx(fingerprint) or ""
    else:
        raise ChainRefused(f"the fingerprint is recorded for another contributor ({recorded})")
    with sessions.begin() as session:
        row = session.get(Contribution, contribution.id)
        assert row is not None
        row.stage, row.tx_hash, row.last_error = Stage.MINTED, tx_hash or None, None
    contribution.stage = Stage.MINTED
