"""refined records: what is stored of a contribution is its refined records, not the upload

Revision ID: 0007
Revises: 0006

A contribution's stored blob (cid, iv, wrapped_key) is now its records in the refined
schema (Parquet, encrypted under a key the service made). `refined_sha256` is that
Parquet's SHA-256 (what a renter checks), `record_count` and `schema_id` what the receipt
shows, `account_hash` the dedup index's hash of the platform account (so `datadao index
rebuild` can bind it again without the upload). NULL `schema_id` marks a contribution
stored as it was uploaded: `datadao data refine-stored` refines it and deletes the upload.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contributions") as batch:
        batch.add_column(sa.Column("refined_sha256", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("record_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("schema_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("account_hash", sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contributions") as batch:
        for column in ("account_hash", "schema_id", "record_count", "refined_sha256"):
            batch.drop_column(column)
