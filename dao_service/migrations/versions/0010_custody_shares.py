"""threshold custody: shares held by a custody node, and sealed shares awaiting delivery

Revision ID: 0010
Revises: 0009

`custody_shares` is a custody node's table (a node runs the same migrations on its own
database): one share of one contribution's file key, encrypted at rest under the node's
storage key, with what a renter needs to find and check the blob. `pending_shares` is the
service's: a contribution's shares sealed to each node at intake, deleted as each node
confirms it holds its share (a node that is down gets its share when it is back).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custody_shares",
        # The service's contribution id: every node pages in the same order.
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("contribution_id", sa.String(36), nullable=False, unique=True),
        sa.Column("dataset_id", sa.Integer(), nullable=False, index=True),
        sa.Column("contributor", sa.String(42), nullable=False, index=True),
        sa.Column("fingerprint", sa.String(66), nullable=False, unique=True),
        sa.Column("cid", sa.String(128), nullable=False),
        sa.Column("sha256", sa.String(66), nullable=False),
        sa.Column("iv", sa.LargeBinary(), nullable=False),
        sa.Column("share_index", sa.Integer(), nullable=False),
        sa.Column("stored_share", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pending_shares",
        sa.Column(
            "contribution_id", sa.Integer(), sa.ForeignKey("contributions.id"), primary_key=True
        ),
        sa.Column("node_public_key", sa.String(130), primary_key=True),
        sa.Column("sealed_share", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pending_shares")
    op.drop_table("custody_shares")
