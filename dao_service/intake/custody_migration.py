"""`datadao custody migrate`: contributions stored before the deployment had custody nodes
keep their file key wrapped under the service's custody key. This splits each such key
M-of-N, seals each share to its node (as intake does for a new blob), delivers the shares
of the minted ones, and then destroys the custody key: a new one, which never wrapped a
file key, takes its place (it still seals renters' validation samples, which are not
contributed data, and tags the service's cursors and sign-in passes).

This is the only step where one process holds every file key: in memory, one at a time,
to split it. Run it once, with the service stopped, on the service's machine."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.core.custody import CustodyKey
from dao_service.exceptions import ConfigurationError
from dao_service.intake import delivery
from dao_service.intake.sharing import keep_key
from dao_service.models import Contribution, PendingShare, ValidationSample


@dataclass
class MigrationSummary:
    split: list[str] = field(default_factory=list)  # contribution ids
    delivered: int = 0  # shares the nodes confirmed
    waiting: int = 0  # shares still waiting for a node (down, or a contribution not minted)
    samples: int = 0  # renters' validation samples sealed under the new custody key
    old_key_destroyed: bool = False


def migrate(
    sessions: sessionmaker[Session],
    custody: CustodyKey,
    custody_path: Path,
    node_set_of: Callable[..., CustodyNodeSet | None],
    validator: object,
    progress: Callable[[str], None] | None = None,
) -> MigrationSummary:
    """Split every key still under the custody key for the chain's current node set
    (`node_set_of()`, `DaoChain.custody_nodes`), deliver, and replace the custody key."""
    interrupted = custody_path.with_name(custody_path.name + ".new")
    if interrupted.exists():
        raise ConfigurationError(
            f"An earlier migration stopped after sealing the samples under {interrupted}: "
            f"move it to {custody_path} (`mv {interrupted} {custody_path}`) and run it again."
        )
    node_set = node_set_of()
    if node_set is None:
        raise ConfigurationError(
            "The deployment has no custody node set on chain yet: a vote sets it first "
            "(`datadao custody propose`, README 'Custody nodes'); nothing was changed."
        )
    with sessions() as session:
        unrefined = session.scalar(
            select(func.count())
            .select_from(Contribution)
            .where(Contribution.wrapped_key.is_not(None), Contribution.schema_id.is_(None))
        )
        wrapped = session.execute(
            select(Contribution.id, Contribution.public_id, Contribution.wrapped_key)
            .where(Contribution.wrapped_key.is_not(None))
            .order_by(Contribution.id)
        ).all()
    if unrefined:
        raise ConfigurationError(
            f"{unrefined} contributions are still stored as uploaded: run `datadao data "
            "refine-stored` first (it needs the custody key); nothing was changed."
        )
    summary = MigrationSummary()
    for row_id, public_id, sealed in wrapped:
        assert sealed is not None  # selected for it
        if progress:
            progress(public_id)
        kept = keep_key(node_set, custody, public_id, custody.unwrap(sealed))
        with sessions.begin() as session:
            session.add_all(
                PendingShare(contribution_id=row_id, node_public_key=node, sealed_share=share)
                for node, share in kept.sealed_shares.items()
            )
            session.execute(
                update(Contribution)
                .where(Contribution.id == row_id)
                .values(wrapped_key=None, custody_epoch=kept.epoch)
            )
        summary.split.append(public_id)
    summary.samples = _replace_custody_key(sessions, custody, custody_path)
    summary.old_key_destroyed = True
    couriers = delivery.ShareDelivery()
    try:
        while (delivered := couriers.deliver_pending(sessions, node_set_of, validator, None)) > 0:
            summary.delivered += delivered
    finally:
        couriers.close()
    with sessions() as session:
        summary.waiting = session.scalar(select(func.count()).select_from(PendingShare)) or 0
    return summary


def _replace_custody_key(
    sessions: sessionmaker[Session], custody: CustodyKey, custody_path: Path
) -> int:
    """A new custody key in place of the old, the samples' keys sealed under it; the old
    file replaced (its bytes no longer in any file the service keeps)."""
    fresh_path = custody_path.with_name(custody_path.name + ".new")
    fresh = CustodyKey("", fresh_path)
    with sessions.begin() as session:
        samples = session.scalars(select(ValidationSample)).all()
        for sample in samples:
            sample.wrapped_key = fresh.wrap(custody.unwrap(sample.wrapped_key))
    # After the commit: a crash between the two leaves the samples under the new key in
    # `.new`, which the next run (the custody key no longer wrapping any file key) finds.
    os.replace(fresh_path, custody_path)
    return len(samples)
