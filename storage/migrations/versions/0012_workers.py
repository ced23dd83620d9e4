"""workers: claims with leases on the inbox and the outbox, and leases for shared jobs

Several ``serve`` workers on one database: a worker claims the update it handles and the
notice it sends until a lease runs out, so another takes them only when the first died; a
job only one worker at a time does (retention, the offers' clock) is a row in ``leases``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIMED = ("outbox", "inbox")


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite's batch copies the table and would lose its
    # AUTOINCREMENT (ids never reused), which both tables rely on.
    for table in _CLAIMED:
        op.add_column(table, sa.Column("claimed_by", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_inbox_person", "inbox", ["channel", "person_id", "id"])
    op.create_table(
        "leases",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_inbox_person", table_name="inbox")
    for table in _CLAIMED:
        op.drop_column(table, "claimed_until")
        op.drop_column(table, "claimed_by")
