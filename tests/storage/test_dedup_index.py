"""`open_index`: the service's dedup index is refused, with the way out, when it is of
another format or empty although contributions were accepted."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import ConfigurationError
from dao_service.models import Contribution, Stage
from dao_service.storage.database import make_engine, migrate, session_factory
from dao_service.storage.dedup_index import open_index


def database(tmp_path: Path, *stages: Stage) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'dao.sqlite3'}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for n, stage in enumerate(stages):
            session.add(
                Contribution(
                    public_id=f"c{n}", contributor="0x" + "11" * 20, dataset_id=1,
                    source="reddit", plaintext_sha256="0x" + "00" * 32, statement_nonce=f"n{n}",
                    stage=stage, report={}, score=1, wrapped_key=b"k", iv=bytes(12),
                    ciphertext_size=1,
                )
            )  # fmt: skip
    return engine, sessions


def test_an_index_of_another_format_is_refused_with_the_way_out(tmp_path: Path) -> None:
    engine, sessions = database(tmp_path)
    with engine.begin() as db:
        db.execute(text("INSERT INTO dedup_meta VALUES ('format_version', '2'), ('sketch', 'x')"))
    with pytest.raises(ConfigurationError, match="datadao index rebuild"):
        open_index(engine, sessions)


def test_an_empty_index_is_refused_once_a_contribution_was_accepted(tmp_path: Path) -> None:
    engine, sessions = database(tmp_path, Stage.REJECTED, Stage.MINTED)
    with pytest.raises(ConfigurationError, match="empty but contributions were accepted"):
        open_index(engine, sessions)


def test_an_empty_index_is_opened_when_nothing_was_accepted(tmp_path: Path) -> None:
    engine, sessions = database(tmp_path, Stage.REJECTED)
    index = open_index(engine, sessions)
    assert index.record_count() == 0
    index.close()
