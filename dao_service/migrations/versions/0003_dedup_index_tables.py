"""dedup index in the database

Revision ID: 0003
Revises: 0002

The validators' dedup index moves from its own SQLite file into this database (tables
`dedup_*`, format 3 of validators.dedup), shared by every API and worker process. Intake
now commits an export's records in the same transaction as its contribution, so the
columns that held them until a later sync go. An index file of an older version is not
copied: `datadao index rebuild` re-derives the index from the stored contributions (the
service refuses to start until it has, see dao_service.runtime).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dedup_meta",
        sa.Column("key", sa.String(length=32), primary_key=True),
        sa.Column("value", sa.String(length=64), nullable=False),
    )
    # On SQLite each key is the table's own B-tree key (written once, not also to an index).
    op.create_table(
        "dedup_exact",
        sa.Column("fingerprint", sa.LargeBinary(16), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "dedup_bands",
        sa.Column(
            "band_key",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
    )
    op.create_table(
        "dedup_additions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fingerprints", sa.LargeBinary(), nullable=False),
        sa.Column("band_keys", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "dedup_filter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("through", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("words", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "dedup_bindings",
        sa.Column("account_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("wallet", sa.String(length=42), nullable=False),
    )
    with op.batch_alter_table("contributions") as batch_op:
        for column in ("indexed", "binding_hash", "index_band_keys", "index_fingerprints"):
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("contributions") as batch_op:
        batch_op.add_column(sa.Column("index_fingerprints", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("index_band_keys", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("binding_hash", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("indexed", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    for table in ("bindings", "filter", "additions", "bands", "exact", "meta"):
        op.drop_table(f"dedup_{table}")
