"""Each part of a notice is a step: what attempts of unknown outcome left is kept.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("unsure", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("copies", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("unsure_since", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("unsure_since")
        batch.drop_column("copies")
        batch.drop_column("unsure")
