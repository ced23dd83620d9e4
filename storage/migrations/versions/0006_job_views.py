"""job_views: later messages in a technician's chat that show a job's contact again

A technician's ``/jobs`` answer and the notice of a customer's corrected contact show the
customer's name, phone and address, like the contact message after Accept. Their message ids
are kept per accepted offer so that erasing the customer deletes them from the chat too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_views",
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["job_offers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("offer_id", "message_id"),
    )


def downgrade() -> None:
    op.drop_table("job_views")
