"""What a rental's settlement starts from: the chain says the rental executed with a
sample, what it paid and the dataset's earnings epoch; the last table here must be at
that epoch (each root builds on the one before it) and gives the cumulative earnings so
far; and the dataset's live contributions are read into memory to be valued."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.core.custody import CustodyKey, open_upload
from dao_service.earnings.node_keys import SettlementKeys
from dao_service.earnings.table import PublishedTable
from dao_service.earnings.valuation import ContributionRecords
from dao_service.exceptions import SettlementError
from dao_service.models import Contribution, EarningsTable, Stage
from dao_service.storage.ipfs import IpfsStore
from validators.records import refined_texts


@dataclass(frozen=True)
class Plan:
    """One rental's settlement before anything is valued."""

    rental_id: int
    dataset_id: int
    payment: int  # wei
    sample_hash: bytes  # recorded on-chain with the rental
    epoch: int  # the dataset's earnings epoch on-chain; this settlement publishes epoch + 1
    funded: int  # wei the pool holds for the dataset's earnings
    previous: EarningsTable | None  # the dataset's last settlement here
    cumulative: dict[str, int]  # account -> earned by value before this rental
    settled_before: int  # wei of the payments the previous tables split
    to_split: int  # this payment and the dust kept so far


def settled_rentals(sessions: sessionmaker[Session]) -> set[int]:
    with sessions() as session:
        return set(session.scalars(select(EarningsTable.rental_id)).all())


def settlement_of(sessions: sessionmaker[Session], rental_id: int) -> EarningsTable | None:
    with sessions() as session:
        return session.scalars(
            select(EarningsTable).where(EarningsTable.rental_id == rental_id)
        ).first()


def latest(sessions: sessionmaker[Session], dataset_id: int) -> EarningsTable | None:
    with sessions() as session:
        return session.scalars(
            select(EarningsTable)
            .where(EarningsTable.dataset_id == dataset_id)
            .order_by(EarningsTable.epoch.desc())
        ).first()


def plan(sessions: sessionmaker[Session], ipfs: IpfsStore, chain: DaoChain, rental_id: int) -> Plan:
    if rental_id not in chain.approved_valued_rentals():
        raise SettlementError(f"Rental {rental_id} has no validation sample or has not executed.")
    dataset_id, payment, sample_hash, _ = chain.rental(rental_id)
    _, epoch, total, funded, _ = chain.earnings_of(dataset_id)
    previous = latest(sessions, dataset_id)
    if (previous.epoch if previous else 0) != epoch:
        raise SettlementError(
            f"Dataset {dataset_id} is at earnings epoch {epoch} on-chain but "
            f"{previous.epoch if previous else 0} here; settle the rentals in order."
        )
    prior = PublishedTable.model_validate_json(ipfs.cat(previous.cid)) if previous else None
    settled_before = int(previous.settled_funding) if previous else 0
    return Plan(
        rental_id=rental_id,
        dataset_id=dataset_id,
        payment=payment,
        sample_hash=sample_hash,
        epoch=epoch,
        funded=funded,
        previous=previous,
        cumulative=dict(prior.cumulative) if prior else {},
        settled_before=settled_before,
        to_split=settled_before + payment - total,
    )


def live_contributions(
    sessions: sessionmaker[Session],
    chain: DaoChain,
    custody: CustodyKey,
    ipfs: IpfsStore,
    dataset_id: int,
    node_keys: SettlementKeys | None = None,
    unread_by_score: bool = False,
) -> list[tuple[ContributionRecords, Contribution]]:
    """The dataset's contributions earning now (matured, not withdrawn or voided on-chain), in
    the order they came in, each with its records read in memory: opened with the custody
    key that wraps its file key, or, split among the custody nodes, with the shares the
    nodes released for this settlement (`node_keys`). Without them such a contribution is
    left out, or, with `unread_by_score` (a rental whose sample the service never received:
    nothing is valued, the payment is split by score), listed without its records."""
    with sessions() as session:
        rows = session.scalars(
            select(Contribution)
            .where(
                Contribution.dataset_id == dataset_id,
                Contribution.stage == Stage.MINTED,
                Contribution.disowned_at.is_(None),  # its account's owner took it back
            )
            .order_by(Contribution.id)
        ).all()
    live = []
    for row in rows:
        # Valued on its stored records; an upload stored before refinement is valued
        # once `datadao data refine-stored` has refined it.
        if not row.fingerprint or not row.cid or not row.schema_id:
            continue
        if row.wrapped_key is None and node_keys is None and not unread_by_score:
            continue
        if not chain.earns(bytes.fromhex(row.fingerprint[2:])):
            continue
        if row.wrapped_key is None and node_keys is None:  # by score: no plaintext needed
            unread = ContributionRecords(row.fingerprint, [], np.zeros((0, 0), np.uint64), [])
            live.append((unread, row))
            continue
        if row.wrapped_key is None:
            assert node_keys is not None
            plaintext = node_keys.open(row.public_id, row.iv, ipfs.cat(row.cid))
        else:
            plaintext = open_upload(custody.unwrap(row.wrapped_key), row.iv, ipfs.cat(row.cid))
        try:
            read = refined_texts(plaintext)
        except ValueError:  # records of another schema version
            read = None
        finally:
            del plaintext
        if read is not None:
            live.append(
                (ContributionRecords(row.fingerprint, read.texts, read.band_keys, read.kinds), row)
            )
    return live


def node_held(sessions: sessionmaker[Session], dataset_id: int) -> dict[str, int]:
    """The dataset's stored contributions whose keys the custody nodes hold, each with the
    node set (epoch) its key was split for (empty: every key is wrapped here)."""
    with sessions() as session:
        rows = session.execute(
            select(Contribution.public_id, Contribution.custody_epoch).where(
                Contribution.dataset_id == dataset_id,
                Contribution.stage == Stage.MINTED,
                Contribution.wrapped_key.is_(None),
                Contribution.schema_id.is_not(None),
                Contribution.custody_epoch.is_not(None),
            )
        ).all()
    return {public_id: epoch for public_id, epoch in rows if epoch is not None}
