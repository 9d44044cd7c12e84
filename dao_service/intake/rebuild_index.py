"""`datadao index rebuild`: re-derive the dedup index from the stored contributions.

Needed when the index format changes (a new sketch gives new band keys): each accepted
contribution's ciphertext (spool or IPFS) is decrypted in memory through custody, its
records are keyed by the validators' current rules, in the order the contributions came
in, into a scratch index file, which then replaces the index in the service's database
in one transaction. Plaintext never touches the disk. Run it with the service stopped.
"""

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, open_upload
from dao_service.exceptions import ConfigurationError
from dao_service.intake.ownership import proven_in
from dao_service.models import Contribution, Stage
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.ipfs import IpfsStore
from validators import DedupIndex, ExportRejected, derive_keys
from validators.records import derive_refined_keys

INDEXED_STAGES = (Stage.VALIDATED, Stage.STORED, Stage.MINTING, Stage.MINTED)
# How the caller follows the work: given the contributions, yields them as they are done.
Track = Callable[[Sequence[Contribution]], Iterable[Contribution]]


@dataclass(frozen=True)
class RebuiltIndex:
    indexed: int  # contributions
    skipped: int  # withdrawn, or unreadable by this version
    records: int


def rebuild_index(settings: Settings, track: Track = iter) -> RebuiltIndex:
    """Re-derive the dedup index (format and sketch of this version) from every accepted
    contribution, decrypted in memory; replaces the old index when done."""
    scratch = tempfile.TemporaryDirectory(prefix="datadao-index-")
    building = Path(scratch.name) / "index.sqlite3"
    engine = make_engine(settings.database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        contributions = session.scalars(
            select(Contribution)
            .where(Contribution.stage.in_(INDEXED_STAGES))
            .order_by(Contribution.id)
        ).all()
    custody = CustodyKey(settings.custody_key, settings.keys_dir / "custody.key")
    ipfs: IpfsStore | None = None
    index = DedupIndex(building)
    skipped = 0
    try:
        for contribution in track(contributions):
            if contribution.wrapped_key is None:  # withdrawn: its key is destroyed
                skipped += 1
                continue
            spooled = settings.spool_dir / f"{contribution.public_id}.bin"
            if spooled.exists():
                ciphertext = spooled.read_bytes()
            elif contribution.cid:
                ipfs = ipfs or IpfsStore(settings.ipfs_api_url, timeout=60)
                ciphertext = ipfs.cat(contribution.cid)
            else:
                raise ConfigurationError(
                    f"Contribution {contribution.public_id} has neither a spooled "
                    f"ciphertext nor a CID; the index cannot be rebuilt without it."
                )
            plaintext = open_upload(
                custody.unwrap(contribution.wrapped_key), contribution.iv, ciphertext
            )
            binding: tuple[bytes, str] | None = None
            try:
                if contribution.schema_id:  # stored as refined records
                    keys = derive_refined_keys(plaintext, index)
                    if contribution.account_hash:
                        account_hash = bytes.fromhex(contribution.account_hash[2:])
                        binding = (account_hash, contribution.contributor)
                else:  # stored as uploaded, before refinement
                    keys, source, account = derive_keys(plaintext, index)
                    if account:
                        account_hash = DedupIndex.account_hash(source, account)
                        binding = (account_hash, contribution.contributor)
            except (ExportRejected, ValueError):  # unreadable by this version
                skipped += 1
                continue
            finally:
                del plaintext
            if contribution.disowned_at is not None:  # its account's owner took it back
                binding = None
            index.commit(keys, binding, proven=proven_in(contribution.report))
        records = index.record_count()
        DedupIndex(engine, check_format=False).replace_with(index)
    finally:
        index.close()
        scratch.cleanup()
        if ipfs is not None:
            ipfs.close()
        engine.dispose()
    return RebuiltIndex(len(contributions) - skipped, skipped, records)
