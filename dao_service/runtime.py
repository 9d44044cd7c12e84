"""The service's parts built from settings, once per process: the API (main.py) and the
intake worker processes (`python -m dao_service.worker`) open the same ones."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.provider import ChainProvider
from dao_service.chain.validator_set import CoValidators
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, IntakeKey
from dao_service.intake import IntakeService
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.dedup_index import open_index
from dao_service.storage.ipfs import IpfsStore
from dao_service.storage.locks import SharedLock


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    ipfs: IpfsStore
    custody: CustodyKey
    chain: ChainProvider
    co_validators: CoValidators
    intake: IntakeService


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
    co_validators = CoValidators(
        settings.co_validator_urls,
        settings.co_validator_timeout_seconds,
        lambda: chain().validator,  # requests to the nodes are signed with the validator key
    )
    intake = IntakeService(
        settings,
        sessions,
        index,
        IntakeKey(settings.keys_dir / "intake-rsa.pem"),
        custody,
        ipfs,
        chain,
        co_validators,
    )
    try:
        yield Runtime(settings, engine, sessions, ipfs, custody, chain, co_validators, intake)
    finally:
        index.close()
        ipfs.close()
        engine.dispose()
