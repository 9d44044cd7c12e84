"""proven bindings: an account is bound by its holder's proof, and an unproven binding
passes to the owner who proves it later

Revision ID: 0008
Revises: 0007

`dedup_bindings.proven`: the binding was made with a proof only the account holder can
give (the platform's sign-in, or the verification code posted from the account). Every
binding made before this revision is unproven: the service did not require a proof, so
the owner who signs in later takes it back. `contributions.disowned_at`: when the
account's proven owner took the binding back from the contribution's wallet; such a
contribution is no longer released to renters nor valued, and awaits a DAO proposal to
void it (`ContributionRegistry.voidContribution`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dedup_bindings") as batch:
        batch.add_column(
            sa.Column("proven", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("contributions") as batch:
        batch.add_column(sa.Column("disowned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contributions") as batch:
        batch.drop_column("disowned_at")
    with op.batch_alter_table("dedup_bindings") as batch:
        batch.drop_column("proven")
