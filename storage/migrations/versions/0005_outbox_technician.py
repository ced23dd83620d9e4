"""outbox.technician_id: whose application a notice to the operators carries

A technician's application goes to the operators' chat through the outbox, with the
applicant's name and phone. When the applicant erases themselves before it is sent, the
pending notice must go too: this column says whose data it carries, as ``customer_id`` does
for customers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("technician_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_outbox_technician_id"), "outbox", ["technician_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_technician_id"), table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("technician_id")
