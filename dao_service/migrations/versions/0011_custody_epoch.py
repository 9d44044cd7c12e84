"""custody node sets on chain: the set each contribution's key was split for

Revision ID: 0011
Revises: 0010

`contributions.custody_epoch` is the CustodyNodeSet epoch whose nodes hold the shares of
the contribution's key (NULL while the key is wrapped under the custody key). Keys split
before the node set went on chain were split for the deployment's one set: epoch 1.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contributions") as batch:
        batch.add_column(sa.Column("custody_epoch", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE contributions SET custody_epoch = 1 "
        "WHERE wrapped_key IS NULL AND refined_sha256 IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("contributions") as batch:
        batch.drop_column("custody_epoch")
