"""The metadata database: SQLite file by default, PostgreSQL (or any SQLAlchemy URL) by
setting. The schema is Alembic's: `migrate` brings any database to the newest revision."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # A pre-ping guards against dropped server connections; a SQLite file has none to drop.
    engine = create_engine(
        url,
        pool_pre_ping=not sqlite,
        connect_args={"timeout": 30, "check_same_thread": False} if sqlite else {},
    )
    if sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed transaction survives a killed process (the crash test
            # checks it); only an OS crash or power cut may lose the last ones.
            connection.execute("PRAGMA synchronous=NORMAL")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def migrate(engine: Engine) -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def dialect_insert(bind: Engine | Session) -> Callable[[Any], PgInsert | SqliteInsert]:
    """The database's own INSERT, which has ON CONFLICT (both SQLite and PostgreSQL)."""
    engine = bind if isinstance(bind, Engine) else bind.get_bind()
    return pg_insert if engine.dialect.name == "postgresql" else sqlite_insert


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
