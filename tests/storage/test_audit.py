"""The audit log is pruned to its retention instead of growing without bound."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.models import AuditEvent
from dao_service.storage import audit
from dao_service.storage.audit import prune_audit_events


def add_events(sessions: sessionmaker[Session], ages_in_days: list[float]) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        for age in ages_in_days:
            session.add(
                AuditEvent(
                    at=now - timedelta(days=age),
                    action="release",
                    outcome="done",
                    detail=f"{age} days old",
                )
            )


def test_rows_past_retention_are_deleted_in_batches(
    sessions: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(audit, "PRUNE_BATCH", 2)
    add_events(sessions, [400, 370, 366, 200, 1, 0])
    assert prune_audit_events(sessions, 365) == 3
    with sessions() as session:
        left = session.scalars(select(AuditEvent.detail).order_by(AuditEvent.id)).all()
    assert left == ["200 days old", "1 days old", "0 days old"]
    assert prune_audit_events(sessions, 0) == 0  # 0: kept forever
    later = datetime.now(UTC) + timedelta(days=200)  # the 200-day row is now 400 days old
    assert prune_audit_events(sessions, 365, now=later) == 1
