"""The work queue: contributions not yet minted, claimed by one worker at a time with a
lease, so any number of worker processes on any number of machines share the work.

A claim is one UPDATE over `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL: concurrent
claimers skip each other's rows instead of waiting; SQLite serialises writers, where the
same statement is atomic and the locking clause is left out). A worker that dies keeps its
lease until it expires; then another claims the work and resumes from the last committed
stage. Each stage's write is fenced by the lease (`advance`): a worker whose lease was
taken over cannot overwrite what the new holder wrote.
"""

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import LeaseLost
from dao_service.models import Contribution, Stage

UNFINISHED = (Stage.VALIDATED, Stage.STORED, Stage.MINTING)
RENEWALS_PER_LEASE = 3  # a held lease is extended this often per lease length

log = logging.getLogger("dao_service.intake")


def worker_name() -> str:
    """Unique per worker: host, process and a random part (a restarted pid is another worker)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def claim(
    sessions: sessionmaker[Session], owner: str, limit: int, lease_seconds: float
) -> list[Contribution]:
    """Lease up to `limit` unfinished contributions no live worker holds, oldest first."""
    now = datetime.now(UTC)
    free = (
        select(Contribution.id)
        .where(
            Contribution.stage.in_(UNFINISHED),
            # Its account's owner took the account back: it is not minted on their behalf.
            Contribution.disowned_at.is_(None),
            or_(Contribution.lease_until.is_(None), Contribution.lease_until < now),
        )
        .order_by(Contribution.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with sessions.begin() as session:
        session.execute(
            update(Contribution)
            .where(Contribution.id.in_(free.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    with sessions() as session:
        return list(
            session.scalars(
                select(Contribution)
                .where(Contribution.lease_owner == owner, Contribution.stage.in_(UNFINISHED))
                .order_by(Contribution.id)
            )
        )


def release(sessions: sessionmaker[Session], owner: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Contribution)
            .where(Contribution.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


def renew(sessions: sessionmaker[Session], owner: str, lease_seconds: float) -> int:
    """Extend every lease `owner` still holds to `lease_seconds` from now; how many. A lease
    another worker took over meanwhile is not ours any more and stays theirs."""
    with sessions.begin() as session:
        done = session.execute(
            update(Contribution)
            .where(Contribution.lease_owner == owner)
            .values(lease_until=datetime.now(UTC) + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    return int(done.rowcount)  # type: ignore[attr-defined]


@contextmanager
def renewing(sessions: sessionmaker[Session], owner: str, lease_seconds: float) -> Iterator[None]:
    """Keep `owner`'s leases alive while the block runs, however long a step takes (an
    upload to IPFS, a mint waiting for its block): renewed RENEWALS_PER_LEASE times per
    lease length, so only a worker that stopped running loses its work to another."""
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(lease_seconds / RENEWALS_PER_LEASE):
            try:
                renew(sessions, owner, lease_seconds)
            except Exception as exc:  # the database is busy: the next turn tries again
                log.warning("intake worker: could not renew its leases: %s", exc)

    thread = threading.Thread(target=keep, name="lease-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def advance(sessions: sessionmaker[Session], contribution: Contribution, **values: Any) -> None:
    """Write `values` to the contribution's row if we still hold its lease (or it was never
    leased: a stage run on its own); else LeaseLost. Mirrors them on the object."""
    with sessions.begin() as session:
        done = session.execute(
            update(Contribution)
            .where(
                Contribution.id == contribution.id,
                Contribution.lease_owner == contribution.lease_owner,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"contribution {contribution.public_id} is now another worker's")
    for name, value in values.items():
        setattr(contribution, name, value)


def defer(
    sessions: sessionmaker[Session], contribution: Contribution, seconds: float, reason: str
) -> None:
    """Put the contribution aside for `seconds` (no worker claims it meanwhile), saying why on
    its receipt: what the chain refused stays refused for a while, and must not fill every
    batch ahead of the work that can proceed."""
    with sessions.begin() as session:
        session.execute(
            update(Contribution)
            .where(Contribution.id == contribution.id)
            .values(
                last_error=reason,
                lease_owner=None,
                lease_until=datetime.now(UTC) + timedelta(seconds=seconds),
            )
            .execution_options(synchronize_session=False)
        )
