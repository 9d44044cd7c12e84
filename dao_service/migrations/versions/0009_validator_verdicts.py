"""validator verdicts: what a co-validator node judged of each upload it was shown

Revision ID: 0009
Revises: 0008

A co-validator node (`dao_service.covalidator`) keeps, in its own database, its verdict
on each upload a collecting node asked it to judge, keyed by the contributor's statement
nonce (one per upload): the fingerprint, score and refined records' SHA-256 it found
itself, whether it agreed with the collecting node's proposal, and the SHA-256 of the
sealed blob the proposal's key makes of its own refinement. It signs an attestation
later only for an upload it agreed on, at no higher a score, and only for a CID whose
content has that SHA-256. Nothing
here names a platform account or holds any of the export's content.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "validator_verdicts",
        sa.Column("statement_nonce", sa.String(64), primary_key=True),
        sa.Column("contributor", sa.String(42), nullable=False),
        sa.Column("contribution_id", sa.String(36), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(66), nullable=True, index=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("refined_sha256", sa.String(66), nullable=True),
        sa.Column("sealed_sha256", sa.String(66), nullable=True),
        sa.Column("account_hash", sa.String(66), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("validator_verdicts")
