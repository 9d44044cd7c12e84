"""Mint stored contributions: sign each attestation and relay them to the registry (many
in one `contributeBatch`), unless the chain already records a fingerprint (a crash after
sending, or another worker), so each is minted exactly once.

A sent contribution is "minting" until enough blocks confirm its transaction, then
"minted". One whose transaction the chain no longer knows (it lost state: the receipt is
gone, the nonce reused) goes back to "stored" and is sent again; sending always asks the
chain's own record first, and the registry refuses a fingerprint twice. Minted ones are
checked again for a while (`recheck_minted`): a record the chain lost is minted again.
Where the registry keeps new tokens in custody until they mature, the worker releases
them once they have (`release_matured`)."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import Attestation
from dao_service.chain.validator_set import collect
from dao_service.exceptions import ChainRefused, SignaturesMissing
from dao_service.intake.queue import advance, defer
from dao_service.models import Contribution, Stage

DEADLINE_MARGIN = 60  # seconds: a deadline nearer than this is renewed before sending
CONFIRMATION_POLL = 2.0  # seconds between looks at a transaction waiting for confirmations
RECHECK_BATCH = 500  # minted contributions checked against the chain per pass
SIGNATURES_RETRY = 5.0  # seconds before asking validators that did not sign again

# The other validators' signatures of a contribution's attestation: (address, signature)
# of each that signed, and why each other did not (`IntakeService.cosign`).
Cosign = Callable[[Contribution, Attestation], tuple[list[tuple[str, bytes]], list[str]]]

log = logging.getLogger("dao_service.intake")


class RegistryChain(Protocol):
    """What minting needs of the chain (`DaoChain`; a fake in unit tests)."""

    @property
    def validator_address(self) -> str: ...
    def sign(self, attestation: Attestation) -> bytes: ...
    def required_signatures(self) -> int: ...
    def recorded_contributor(self, fingerprint: bytes) -> str | None: ...
    def record(self, attestation: Attestation, signatures: list[bytes]) -> str: ...
    def record_batch(
        self, signed: list[tuple[Attestation, list[bytes]]]
    ) -> tuple[str, set[bytes]]: ...
    def recording_tx(self, fingerprint: bytes) -> str | None: ...
    def confirmations(self, tx_hash: str) -> int | None: ...
    def now(self) -> int: ...


def attestation(contribution: Contribution, deadline: int) -> Attestation:
    assert contribution.fingerprint and contribution.cid
    account = contribution.account_hash
    return Attestation(
        contributor=contribution.contributor,
        account=bytes.fromhex(account[2:]) if account else bytes(32),
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
    """True (and the row marked minting, with the transaction that recorded it) if the
    chain records the fingerprint for this contributor; ChainRefused if for someone else;
    False if not recorded."""
    recorded = chain.recorded_contributor(_fingerprint(contribution))
    if recorded is None:
        return False
    if recorded.lower() != contribution.contributor.lower():
        raise ChainRefused(f"the fingerprint is recorded for another contributor ({recorded})")
    tx_hash = chain.recording_tx(_fingerprint(contribution))
    advance(sessions, contribution, stage=Stage.MINTING, tx_hash=tx_hash, last_error=None)
    return True


def _signed(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    ttl: int,
    contribution: Contribution,
    cosign: Cosign | None = None,
) -> tuple[Attestation, list[bytes]]:
    """The attestation and its validators' signatures, this node's and (with `cosign`) the
    other validators'; SignaturesMissing while fewer sign than the registry requires."""
    deadline = contribution.attestation_deadline or 0
    if deadline <= chain.now() + DEADLINE_MARGIN:
        deadline = chain.now() + ttl
    signed = attestation(contribution, deadline)
    signatures = collect(
        (chain.validator_address, chain.sign(signed)),
        cosign(contribution, signed) if cosign is not None else ([], []),
        chain.required_signatures(),
        f"contribution {contribution.public_id}",
    )
    # The receipt carries them even if minting waits (the contributor may submit them).
    advance(
        sessions,
        contribution,
        attestation_deadline=deadline,
        attestation_signature=",".join("0x" + s.hex() for s in signatures),
    )
    return signed, signatures


def confirm(
    sessions: sessionmaker[Session], chain: RegistryChain, needed: int, contribution: Contribution
) -> None:
    """Look at a minting contribution's transaction: minted once `needed` blocks confirm
    it; put aside for CONFIRMATION_POLL seconds while fewer do; back to stored (to be sent
    again) if the chain no longer records it nor knows the transaction."""
    fingerprint = _fingerprint(contribution)
    recorded = chain.recorded_contributor(fingerprint)
    tx_hash = contribution.tx_hash
    seen = chain.confirmations(tx_hash) if tx_hash else None
    if recorded is None:
        if seen == 0:  # sent, not mined yet
            defer(sessions, contribution, CONFIRMATION_POLL, f"waiting for {tx_hash} to be mined")
            return
        log.warning(
            "intake worker: contribution %s: the chain lost its transaction %s; sending again",
            contribution.public_id,
            tx_hash,
        )
        advance(
            sessions,
            contribution,
            stage=Stage.STORED,
            tx_hash=None,
            last_error=f"its transaction {tx_hash} is no longer on the chain; sending it again",
        )
        return
    if recorded.lower() != contribution.contributor.lower():
        raise ChainRefused(f"the fingerprint is recorded for another contributor ({recorded})")
    if seen is None:  # recorded by another transaction than ours (another worker's)
        tx_hash = chain.recording_tx(fingerprint)
        seen = chain.confirmations(tx_hash) if tx_hash else None
    if seen is not None and seen >= needed:
        advance(sessions, contribution, stage=Stage.MINTED, tx_hash=tx_hash, last_error=None)
        return
    advance(sessions, contribution, tx_hash=tx_hash)
    defer(
        sessions,
        contribution,
        CONFIRMATION_POLL,
        f"waiting for confirmations of {tx_hash}: {seen or 0} of {needed}",
    )


def mint(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    attestation_ttl: int,
    contribution: Contribution,
    confirmations: int = 1,
    cosign: Cosign | None = None,
) -> None:
    if not _already_recorded(sessions, chain, contribution):
        signed = _signed(sessions, chain, attestation_ttl, contribution, cosign)
        tx_hash = chain.record(*signed)
        advance(sessions, contribution, stage=Stage.MINTING, tx_hash=tx_hash, last_error=None)
    confirm(sessions, chain, confirmations, contribution)


def mint_batch(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    attestation_ttl: int,
    contributions: list[Contribution],
    confirmations: int = 1,
    cosign: Cosign | None = None,
) -> list[tuple[Contribution, ChainRefused]]:
    """Mint the stored ones, in one transaction when several wait, and confirm the minting
    ones (sending again those whose transaction the chain lost); returns the ones the chain
    refused. One that fewer validators sign than the registry requires waits
    SIGNATURES_RETRY seconds, its receipt saying which did not sign and why."""
    refused: list[tuple[Contribution, ChainRefused]] = []
    to_send: list[Contribution] = []
    for contribution in contributions:
        try:
            if contribution.stage == Stage.MINTING:
                confirm(sessions, chain, confirmations, contribution)
        except ChainRefused as exc:
            refused.append((contribution, exc))
            continue
        if contribution.stage == Stage.STORED:
            to_send.append(contribution)
    refused += _send(sessions, chain, attestation_ttl, to_send, cosign)
    refused_ids = {c.id for c, _ in refused}
    for contribution in to_send:
        if contribution.stage == Stage.MINTING and contribution.id not in refused_ids:
            try:
                confirm(sessions, chain, confirmations, contribution)
            except ChainRefused as exc:
                refused.append((contribution, exc))
    return refused


def _send(
    sessions: sessionmaker[Session],
    chain: RegistryChain,
    attestation_ttl: int,
    contributions: list[Contribution],
    cosign: Cosign | None,
) -> list[tuple[Contribution, ChainRefused]]:
    """Send all in one transaction when several wait; returns the ones the chain refused.
    A batch the registry reverts is retried one by one, so one bad item delays no other."""
    refused: list[tuple[Contribution, ChainRefused]] = []
    waiting: list[tuple[Contribution, tuple[Attestation, list[bytes]]]] = []
    for contribution in contributions:
        try:
            if not _already_recorded(sessions, chain, contribution):
                signed = _signed(sessions, chain, attestation_ttl, contribution, cosign)
                waiting.append((contribution, signed))
        except ChainRefused as exc:
            refused.append((contribution, exc))
        except SignaturesMissing as exc:
            defer(sessions, contribution, SIGNATURES_RETRY, exc.user_message)
    if not waiting:
        return refused
    if len(waiting) > 1:
        try:
            tx_hash, recorded = chain.record_batch([signed for _, signed in waiting])
        except ChainRefused:
            pass  # one by one below
        else:
            for contribution, _ in waiting:
                if _fingerprint(contribution) in recorded:
                    advance(
                        sessions,
                        contribution,
                        stage=Stage.MINTING,
                        tx_hash=tx_hash,
                        last_error=None,
                    )
                else:  # recorded meanwhile by another transaction: find which
                    try:
                        if not _already_recorded(sessions, chain, contribution):
                            raise ChainRefused("the batch neither recorded nor skipped it")
                    except ChainRefused as exc:
                        refused.append((contribution, exc))
            return refused
    for contribution, signed in waiting:
        try:
            tx_hash = chain.record(*signed)
        except ChainRefused as exc:
            refused.append((contribution, exc))
            continue
        advance(sessions, contribution, stage=Stage.MINTING, tx_hash=tx_hash, last_error=None)
    return refused


class MaturingChain(Protocol):
    """What releasing needs of the chain (`DaoChain`)."""

    def release_matured(self) -> int: ...


def release_matured(chain: MaturingChain) -> int:
    """Release the matured contributions' tokens to their contributors; how many. While
    the registry is paused nothing is released (said in the log, tried again later)."""
    try:
        return chain.release_matured()
    except ChainRefused as refused:
        log.info("intake worker: matured tokens not released: %s", refused)
        return 0


def recheck_minted(
    sessions: sessionmaker[Session], chain: RegistryChain, within_seconds: int
) -> int:
    """Minted contributions of the last `within_seconds` whose record the chain no longer
    holds (it lost state after their confirmations) go back to stored, to be minted again;
    how many. Each is checked with one call; the oldest RECHECK_BATCH per pass."""
    since = datetime.now(UTC) - timedelta(seconds=within_seconds)
    with sessions() as session:
        minted = session.scalars(
            select(Contribution)
            .where(
                Contribution.stage == Stage.MINTED,
                Contribution.withdrawn.is_(False),
                Contribution.updated_at >= since,
            )
            .order_by(Contribution.updated_at)
            .limit(RECHECK_BATCH)
        ).all()
    lost = 0
    for contribution in minted:
        if chain.recorded_contributor(_fingerprint(contribution)) is not None:
            continue
        log.warning(
            "intake worker: contribution %s: the chain lost its record (transaction %s); "
            "minting it again",
            contribution.public_id,
            contribution.tx_hash,
        )
        with sessions.begin() as session:
            done = session.execute(
                update(Contribution)
                .where(Contribution.id == contribution.id, Contribution.stage == Stage.MINTED)
                .values(
                    stage=Stage.STORED,
                    tx_hash=None,
                    last_error=f"the chain lost its transaction {contribution.tx_hash}; "
                    "minting it again",
                )
                .execution_options(synchronize_session=False)
            )
        lost += int(done.rowcount)  # type: ignore[attr-defined]
    return lost
