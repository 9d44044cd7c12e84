"""Withdrawal on the contributor's signed request: the registry first, then the file key
is destroyed, so a contribution is never left keyless while the chain still counts it."""

from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import recover_typed_signer, withdrawal_typed_data
from dao_service.chain.dao import DaoChain
from dao_service.exceptions import ChainRefused, IntakeRefused
from dao_service.intake.receipt import find_contribution
from dao_service.models import AuditEvent, Contribution, Stage


def withdraw(
    sessions: sessionmaker[Session],
    dao: DaoChain,
    public_id: str,
    deadline: int,
    signature: bytes,
) -> Contribution:
    """The contribution `public_id`, withdrawn (as it was, if it already is)."""
    row = find_contribution(sessions, public_id)
    if row.withdrawn:
        return row
    if row.stage != Stage.MINTED or not row.fingerprint:
        raise IntakeRefused(
            f"Contribution {public_id} is {row.stage.value}; only minted ones can be withdrawn.",
            409,
        )
    fingerprint = bytes.fromhex(row.fingerprint[2:])
    try:
        signer = recover_typed_signer(
            withdrawal_typed_data(fingerprint, deadline, dao.chain_id, dao.registry_address),
            signature,
        )
    except (ValueError, TypeError) as exc:  # e.g. a v that is none of 0, 1, 27, 28
        raise IntakeRefused(f"The withdrawal signature is malformed: {exc}.") from exc
    if signer.lower() != row.contributor.lower():
        raise IntakeRefused(f"The withdrawal is signed by {signer}, not by the contributor.", 403)
    try:
        tx_hash = dao.withdraw(fingerprint, deadline, signature)
    except ChainRefused as exc:
        raise IntakeRefused(f"The registry refused the withdrawal: {exc.reason}.", 409) from exc
    with sessions.begin() as session:
        stored = session.get(Contribution, row.id)
        assert stored is not None
        stored.withdrawn, stored.wrapped_key = True, None  # the key is gone for good
        session.add(
            AuditEvent(
                action="withdraw",
                address=row.contributor,
                dataset_id=row.dataset_id,
                outcome="done",
                detail=f"{public_id} in tx {tx_hash}; key destroyed",
            )
        )
    return stored
