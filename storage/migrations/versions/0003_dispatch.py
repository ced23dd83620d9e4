"""dispatch: outbox, offer due times, technician availability and base, ratings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("location_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["offer_id"], ["job_offers.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_pending_due", "outbox", ["status", "due_at"])
    op.create_index(op.f("ix_outbox_chat_id"), "outbox", ["chat_id"])
    op.create_index(op.f("ix_outbox_offer_id"), "outbox", ["offer_id"])
    op.create_index(op.f("ix_outbox_order_id"), "outbox", ["order_id"])
    op.create_index(op.f("ix_outbox_customer_id"), "outbox", ["customer_id"])
    with op.batch_alter_table("job_offers") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_job_offers_expires_at"), ["expires_at"])
    with op.batch_alter_table("technicians") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="approved")
        )
        batch.add_column(
            sa.Column("available", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("base_latitude", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("base_longitude", sa.LargeBinary(), nullable=True))
        batch.create_index(batch.f("ix_technicians_status"), ["status"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating_comment", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("rating_comment")
        batch.drop_column("rating")
    with op.batch_alter_table("technicians") as batch:
        batch.drop_index(batch.f("ix_technicians_status"))
        batch.drop_column("base_longitude")
        batch.drop_column("base_latitude")
        batch.drop_column("available")
        batch.drop_column("status")
    with op.batch_alter_table("job_offers") as batch:
        batch.drop_index(batch.f("ix_job_offers_expires_at"))
        batch.drop_column("expires_at")
    op.drop_table("outbox")
