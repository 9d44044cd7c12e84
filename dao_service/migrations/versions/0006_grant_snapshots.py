"""grant snapshots shared by the API processes

Revision ID: 0006
Revises: 0005

Each API process cached the grants it read from the chain for itself; this table is the
cache they share, so the chain is asked once per block and account, not once per process.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grant_snapshots",
        sa.Column("dataset_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("account", sa.String(length=42), primary_key=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("can_decrypt", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("grant_snapshots")
