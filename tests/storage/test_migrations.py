"""Alembic: one linear chain; 0002 moves intake's bookkeeping out of the report."""

import json
from pathlib import Path

import numpy as np
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from dao_service.storage.database import alembic_config, make_engine


def test_revisions_form_one_linear_chain(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    assert len(scripts.get_heads()) == 1
    assert all(len(r._all_down_revisions) <= 1 for r in scripts.walk_revisions())
    engine.dispose()


def test_0002_moves_record_keys_binding_and_indexed_into_columns(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    config = alembic_config(engine)
    command.upgrade(config, "0001")
    report = {
        "accepted": True,
        "score": 7,
        "record_keys": [["07" * 16, [1, 2, 3]], ["09" * 16, [4, 5, 6]]],
        "binding": ["ab" * 32, "0xwallet"],
        "indexed": False,
    }
    columns = (
        "public_id, contributor, dataset_id, source, plaintext_sha256, statement_nonce, "
        "stage, report, score, iv, ciphertext_size, withdrawn, created_at, updated_at"
    )
    with engine.begin() as db:
        for i, body in enumerate((report, {"accepted": False, "score": 0})):
            db.execute(
                text(
                    f"INSERT INTO contributions ({columns}) VALUES (:p, 'c', 1, 'reddit', "
                    "'0x', :n, 'VALIDATED', :r, 1, x'00', 1, 0, '2026-01-01', '2026-01-01')"
                ),
                {"p": f"id{i}", "n": f"n{i}", "r": json.dumps(body)},
            )
    command.upgrade(config, "0002")
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT report, index_fingerprints, index_band_keys, binding_hash, indexed, "
                "lease_owner FROM contributions ORDER BY public_id"
            )
        ).fetchall()
    moved, untouched = rows
    assert json.loads(moved[0]) == {"accepted": True, "score": 7}
    assert moved[1] == bytes.fromhex("07" * 16 + "09" * 16)
    assert np.frombuffer(moved[2], np.int64).tolist() == [1, 2, 3, 4, 5, 6]
    assert moved[3] == bytes.fromhex("ab" * 32) and moved[4] == 0
    assert moved[5] is None
    assert json.loads(untouched[0]) == {"accepted": False, "score": 0} and untouched[4] == 1
    command.upgrade(config, "head")  # 0003: the index is in the database; the columns go
    with engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM dedup_exact")).scalar() == 0
    engine.dispose()
