"""The service's parts built from settings, once per process: the API (main.py) and the
intake worker processes (`python -m dao_service.worker`) open the same ones."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.provider import ChainProvider
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, IntakeKey
from dao_service.exceptions import ConfigurationError
from dao_service.intake import IntakeService
from dao_service.models import Contribution, Stage
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.ipfs import IpfsStore
from dao_service.storage.locks import SharedLock
from validators import DedupIndex, IndexFormatError


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    ipfs: IpfsStore
    custody: CustodyKey
    chain: ChainProvider
    intake: IntakeService


def open_index(engine: Engine, sessions: sessionmaker[Session]) -> DedupIndex:
    """The dedup index in the service's database; refused (with the way out) if it is of
    another format, or empty while accepted contributions exist (an older version kept it
    in a file of its own)."""
    try:
        index = DedupIndex(engine)
    except IndexFormatError as exc:
        raise ConfigurationError(exc.user_message) from exc
    if index.record_count() == 0:
        with sessions() as session:
            accepted = session.scalars(
                select(Contribution.id).where(Contribution.stage != Stage.REJECTED).limit(1)
            ).first()
        if accepted is not None:
            raise ConfigurationError(
                "The dedup index in the database is empty but contributions were accepted "
                "(an older version kept the index in a file). Run `datadao index rebuild`."
            )
    return index


@contextmanager
def open_runtime(settings: Settings) -> Iterator[Runtime]:
    settings.check_profile()  # before anything is opened: a refused setting starts nothing
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    ipfs = IpfsStore(settings.ipfs_api_url, timeout=30)
    index = open_index(engine, sessions)
    custody = CustodyKey(settings.custody_key, settings.keys_dir / "custody.key")
    # Every process relaying from the same account takes turns (one nonce sequence).
    chain = ChainProvider(settings, SharedLock(engine, "relayer").held)
    intake = IntakeService(
        settings,
        sessions,
        index,
        IntakeKey(settings.keys_dir / "intake-rsa.pem"),
        custody,
        ipfs,
        chain,
    )
    try:
        yield Runtime(settings, engine, sessions, ipfs, custody, chain, intake)
    finally:
        index.close()
        ipfs.close()
        engine.dispose()
