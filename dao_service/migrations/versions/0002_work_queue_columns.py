"""work queue in columns: index keys, binding, lease

Revision ID: 0002
Revises: 0001

Intake's bookkeeping moves out of the report JSON (`record_keys`, `binding`, `indexed`)
into columns, and each contribution gains a lease: the worker that holds an unexpired
lease is the only one advancing it.
"""

import json

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WORK_FIELDS = ("record_keys", "binding", "indexed")


def upgrade() -> None:
    with op.batch_alter_table("contributions") as batch_op:
        batch_op.add_column(sa.Column("index_fingerprints", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("index_band_keys", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("binding_hash", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("indexed", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_contributions_lease_owner", ["lease_owner"])
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, report FROM contributions")).fetchall()
    for row_id, raw in rows:
        report = json.loads(raw) if isinstance(raw, str) else raw
        if not any(field in report for field in WORK_FIELDS):
            continue
        keys = report.get("record_keys") or []
        binding = report.get("binding")
        connection.execute(
            sa.text(
                "UPDATE contributions SET index_fingerprints = :f, index_band_keys = :b, "
                "binding_hash = :h, indexed = :i, report = :r WHERE id = :id"
            ),
            {
                "f": b"".join(bytes.fromhex(fp) for fp, _ in keys) if keys else None,
                "b": np.array([bands for _, bands in keys], np.int64).tobytes() if keys else None,
                "h": bytes.fromhex(binding[0]) if binding else None,
                "i": bool(report.get("indexed", True)),
                "r": json.dumps({k: v for k, v in report.items() if k not in WORK_FIELDS}),
                "id": row_id,
            },
        )


def downgrade() -> None:
    with op.batch_alter_table("contributions") as batch_op:
        batch_op.drop_index("ix_contributions_lease_owner")
        for column in (
            "lease_until",
            "lease_owner",
            "indexed",
            "binding_hash",
            "index_band_keys",
            "index_fingerprints",
        ):
            batch_op.drop_column(column)
