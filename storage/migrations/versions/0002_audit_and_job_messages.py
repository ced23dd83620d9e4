"""audit log; ids of the contact and location messages sent after Accept

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job_offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("location_message_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_offers", schema=None) as batch_op:
        batch_op.drop_column("location_message_id")
        batch_op.drop_column("contact_message_id")
    op.drop_table("audit_events")
