"""Ownership taken back: when an export's account, bound to another wallet without proof,
is proven by its owner (the platform's sign-in or the verification code), the binding
moves to the owner's wallet (validators.dedup) and the earlier wallet's contributions of
that account are disowned here: from then on neither released to renters nor valued, and
listed for a DAO proposal to void them (`ContributionRegistry.voidContribution`, which
only the timelock may call).

Nothing here names the platform account: the contributions share only the dedup index's
hash of it, and what is listed (contribution, wallet, fingerprint) is public on-chain."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.models import AuditEvent, Contribution, Stage

DISOWNED = (
    "the account's proven owner took back the binding this contribution was made under "
    "without proof; withdrawn from rentals, awaiting a DAO proposal to void it"
)


PROOFS = ("platform sign-in", "verification code")


def proven_in(report: dict[str, Any]) -> bool:
    """Whether a stored report's export was proven its account's (by the platform's
    sign-in or the verification code): how `datadao index rebuild` binds it again."""
    return any(
        check.get("name") in PROOFS and check.get("status") == "pass"
        for check in report.get("ownership") or []
    )


def disown_earlier(session: Session, contribution: Contribution) -> list[Contribution]:
    """Disown the contributions of `contribution`'s account made by other wallets (in the
    caller's transaction, the one that moved the binding); the ones disowned now."""
    if contribution.account_hash is None:
        return []
    earlier = session.scalars(
        select(Contribution).where(
            Contribution.account_hash == contribution.account_hash,
            func.lower(Contribution.contributor) != contribution.contributor.lower(),
            Contribution.disowned_at.is_(None),
        )
    ).all()
    now = datetime.now(UTC)
    for row in earlier:
        session.execute(
            update(Contribution).where(Contribution.id == row.id).values(disowned_at=now)
        )
        session.add(
            AuditEvent(
                action="disown",
                address=row.contributor,
                dataset_id=row.dataset_id,
                outcome="void-pending",
                detail=f"{row.public_id}: {DISOWNED}",
            )
        )
    return list(earlier)


def awaiting_void(sessions: sessionmaker[Session], dataset_id: int) -> list[Contribution]:
    """The dataset's disowned contributions that were minted (so there is something on
    chain to void), oldest first."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Contribution)
                .where(
                    Contribution.dataset_id == dataset_id,
                    Contribution.disowned_at.is_not(None),
                    Contribution.stage == Stage.MINTED,
                    Contribution.fingerprint.is_not(None),
                )
                .order_by(Contribution.disowned_at, Contribution.id)
            ).all()
        )
