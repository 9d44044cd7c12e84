"""The audit log's retention: rows older than the configured number of days are deleted,
a batch at a time (each a short write transaction, so releases are not held up)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.models import AuditEvent

PRUNE_BATCH = 5_000


def prune_audit_events(
    sessions: sessionmaker[Session], retention_days: int, now: datetime | None = None
) -> int:
    """Deletes audit rows older than `retention_days` (0: keeps every row); returns how many."""
    if retention_days <= 0:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    deleted = 0
    while True:
        with sessions.begin() as session:
            ids = session.scalars(
                select(AuditEvent.id).where(AuditEvent.at < cutoff).limit(PRUNE_BATCH)
            ).all()
            if ids:
                session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < PRUNE_BATCH:
            return deleted
