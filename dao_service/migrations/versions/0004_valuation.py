"""validation samples and earnings tables (issue 10)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "validation_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=66), nullable=False),
        sa.Column("renter", sa.String(length=42), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("iv", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("validation_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_samples_sha256"), ["sha256"], unique=True)
    op.create_table(
        "earnings_tables",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rental_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("total", sa.String(length=80), nullable=False),
        sa.Column("settled_funding", sa.String(length=80), nullable=False),
        sa.Column("demand", sa.JSON(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rental_id"),
        sa.UniqueConstraint("dataset_id", "epoch"),
    )
    with op.batch_alter_table("earnings_tables", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_earnings_tables_dataset_id"), ["dataset_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("earnings_tables")
    op.drop_table("validation_samples")
