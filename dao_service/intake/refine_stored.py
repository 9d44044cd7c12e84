"""`datadao data refine-stored`: contributions stored as they were uploaded (before the
record schema existed) are refined like new ones, their refined records stored, and the
uploads unpinned and deleted. A minted one's new CID is recorded on-chain (the
validator signs it), so renters accept it; one not yet stored is refined in the spool.

This is the only step where the service opens an upload after intake: in memory, one at
a time, and only to refine it. Run it with the service stopped."""

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.client.contribute import export_data
from dao_service.core.custody import CustodyKey, open_upload
from dao_service.intake.records import Spool
from dao_service.intake.refining import Refiner
from dao_service.intake.sharing import KeptKey
from dao_service.models import Contribution, Stage
from dao_service.storage.ipfs import IpfsStore
from validators import DedupIndex, ValidationContext, validate_export
from validators.selection import published


@dataclass
class RefineSummary:
    refined: list[str] = field(default_factory=list)  # contribution ids
    failed: dict[str, str] = field(default_factory=dict)  # contribution id -> why
    unpinned: list[str] = field(default_factory=list)  # the uploads' CIDs


@dataclass(frozen=True)
class StoredParts:
    """What refining stored contributions touches."""

    sessions: sessionmaker[Session]
    custody: CustodyKey
    ipfs: IpfsStore
    spool: Spool
    refiner: Refiner
    chain: DaoChain


def pending(sessions: sessionmaker[Session]) -> list[Contribution]:
    """Contributions still stored as uploaded (keys not destroyed)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Contribution)
                .where(
                    Contribution.schema_id.is_(None),
                    Contribution.wrapped_key.is_not(None),
                    Contribution.stage.in_((Stage.VALIDATED, Stage.STORED, Stage.MINTED)),
                )
                .order_by(Contribution.id)
            ).all()
        )


def refine_stored(
    parts: StoredParts, progress: Callable[[Contribution], None] | None = None
) -> RefineSummary:
    """Refine every contribution stored as uploaded; see the module's docstring."""
    summary = RefineSummary()
    for row in pending(parts.sessions):
        if progress:
            progress(row)
        try:
            _refine_one(row, parts, summary)
        except Exception as exc:  # one bad contribution does not stop the others
            summary.failed[row.public_id] = f"{type(exc).__name__}: {exc}"
    if summary.unpinned:
        parts.ipfs.collect_garbage()
    return summary


def _refine_one(row: Contribution, parts: StoredParts, summary: RefineSummary) -> None:
    assert row.wrapped_key is not None
    spooled = parts.spool.path(row.public_id)
    ciphertext = spooled.read_bytes() if spooled.exists() else parts.ipfs.cat(row.cid or "")
    plaintext = open_upload(parts.custody.unwrap(row.wrapped_key), row.iv, ciphertext)
    del ciphertext
    # What a contributor's machine would have uploaded: the public files only.
    taken = export_data(plaintext, published()).plaintext
    del plaintext
    context = ValidationContext(
        wallet=row.contributor, chain_id=parts.chain.chain_id, registry=parts.chain.registry_address
    )
    # Against an empty index: the contribution was judged when it came; this only reads it.
    validation = validate_export(taken, context, DedupIndex(":memory:"))
    del taken
    if not validation.report.accepted:
        reasons = "; ".join(validation.report.rejection_reasons)
        raise ValueError(f"its upload no longer reads as an export ({reasons})")
    # Before custody nodes (`datadao custody migrate` splits these keys afterwards).
    refined = parts.refiner.refine(
        validation, row.public_id, row.contributor, lambda _, key: KeptKey(parts.custody.wrap(key))
    )
    new_cid = None
    if row.stage == Stage.VALIDATED:  # not on IPFS yet: the worker stores the refined blob
        parts.spool.write(row.public_id, refined.ciphertext)
    else:
        new_cid = parts.ipfs.add(refined.ciphertext, pin=True)
        if row.stage == Stage.MINTED and row.fingerprint:
            parts.chain.record_refinement(bytes.fromhex(row.fingerprint[2:]), new_cid)
    with parts.sessions.begin() as session:
        stored = session.get(Contribution, row.id)
        assert stored is not None
        stored.wrapped_key = refined.kept.wrapped
        stored.iv = refined.iv
        stored.ciphertext_size = len(refined.ciphertext)
        stored.refined_sha256 = refined.sha256
        stored.record_count = refined.records
        stored.schema_id = refined.schema_id
        binding = validation.binding
        stored.account_hash = "0x" + binding[0].hex() if binding else None
        if new_cid is not None:
            stored.cid = new_cid
    summary.refined.append(row.public_id)
    if row.cid and new_cid and row.cid != new_cid:
        parts.ipfs.unpin(row.cid)
        summary.unpinned.append(row.cid)
