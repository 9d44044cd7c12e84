"""Store a validated contribution's ciphertext on IPFS (pinned) and record its CID."""

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dao_service.intake.queue import advance
from dao_service.intake.records import Spool
from dao_service.models import Contribution, Stage


class ContentStore(Protocol):
    """What storing needs of IPFS (`IpfsStore`; a fake in unit tests)."""

    def add(self, data: bytes, *, pin: bool = True) -> str: ...


def store(
    sessions: sessionmaker[Session], spool: Spool, ipfs: ContentStore, contribution: Contribution
) -> None:
    ciphertext = spool.read(contribution.public_id)
    cid = ipfs.add(ciphertext, pin=True)
    advance(sessions, contribution, cid=cid, stage=Stage.STORED, last_error=None)
    spool.remove(contribution.public_id)
