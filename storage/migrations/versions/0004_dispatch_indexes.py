"""dispatch indexes: who can take a job, and their open jobs, rating and last offer

Matching an order (storage.technicians.match) looks through every technician's services and
areas, then asks for each candidate how many open jobs they have, and for some when they were
last offered one and their average rating. With only single-column indexes that read every
technician row (encrypted fields and all) through the status index, and every order or offer
row of each candidate from the table: about a second per match on 1,000,000 orders. These
indexes answer each question from an index alone, the open jobs from a small partial one
(see bench/dispatch.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Written out, not imported: a migration stays as it was written when the models change.
OPEN_JOBS = "status IN ('assigned', 'on_the_way')"


def upgrade() -> None:
    op.create_index(
        "ix_technicians_matching",
        "technicians",
        ["status", "active", "available", "services", "areas"],
    )
    op.create_index(
        "ix_orders_technician_status_rating", "orders", ["technician_id", "status", "rating"]
    )
    op.create_index(
        "ix_orders_open_jobs",
        "orders",
        ["technician_id", "status"],
        sqlite_where=sa.text(OPEN_JOBS),
        postgresql_where=sa.text(OPEN_JOBS),
    )
    op.create_index(
        "ix_job_offers_technician_created", "job_offers", ["technician_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_job_offers_technician_created", table_name="job_offers")
    op.drop_index("ix_orders_open_jobs", table_name="orders")
    op.drop_index("ix_orders_technician_status_rating", table_name="orders")
    op.drop_index("ix_technicians_matching", table_name="technicians")
