"""`rebuild_index`: every accepted contribution is followed through `track`; a withdrawn
one (its key destroyed) and one this version cannot read are skipped and counted; one
whose ciphertext is gone stops the rebuild before the old index is replaced."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import update

from dao_service.core.config import Settings
from dao_service.exceptions import ConfigurationError
from dao_service.intake.rebuild_index import rebuild_index
from dao_service.models import Contribution, Stage
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from dao_service.storage.database import make_engine
from tests.utils.stored import store
from tests.validators.conftest import WALLET
from validators import DedupIndex


def withdraw(settings: Settings, public_id: str) -> None:
    engine = make_engine(settings.database_url)
    with engine.begin() as db:
        db.execute(
            update(Contribution).where(Contribution.public_id == public_id).values(wrapped_key=None)
        )
    engine.dispose()


def test_withdrawn_and_unreadable_contributions_are_skipped(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store(settings, reddit_export(reddit_spec(seed=1, comments=20)), WALLET, Stage.MINTED)
    withdraw(settings, store(settings, reddit_export(reddit_spec(seed=2)), WALLET, Stage.MINTED))
    store(settings, b"not an export", WALLET, Stage.STORED)
    store(settings, reddit_export(reddit_spec(seed=3)), WALLET, Stage.REJECTED)  # not indexed
    followed: list[str] = []

    def track(contributions: Sequence[Contribution]) -> Sequence[Contribution]:
        followed.extend(row.public_id for row in contributions)
        return contributions

    rebuilt = rebuild_index(settings, track)
    assert (rebuilt.indexed, rebuilt.skipped, len(followed)) == (1, 2, 3)
    engine = make_engine(settings.database_url)
    index = DedupIndex(engine)
    assert index.record_count() == rebuilt.records > 20
    index.close()
    engine.dispose()


def test_a_contribution_without_its_ciphertext_stops_the_rebuild(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    public_id = store(settings, reddit_export(reddit_spec(seed=1)), WALLET, Stage.VALIDATED)
    (settings.spool_dir / f"{public_id}.bin").unlink()  # and no CID: it was never stored
    with pytest.raises(ConfigurationError, match=f"{public_id} has neither"):
        rebuild_index(settings)
