"""The validators' dedup index in the service's database, opened the one way the service,
its workers and `datadao validate` all use: refused, with the way out, when it cannot be
trusted."""

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.exceptions import ConfigurationError
from dao_service.models import Contribution, Stage
from validators import DedupIndex, IndexFormatError


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
