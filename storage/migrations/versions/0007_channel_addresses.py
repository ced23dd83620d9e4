"""People, chats and messages by channel: (channel, external id) instead of Telegram's ints.

Customers and technicians are keyed by ``(channel, external_id)``; sessions by
``(channel, person_id)``; outbox rows and job offers name their chat by ``(channel,
chat_id)``; message ids are text (WhatsApp's are not numbers). Every row of today is a
Telegram one and is carried over as such: ``5001001`` becomes ``("telegram", "5001001")``.
A technician who left (a negative placeholder id) keeps no id at all, and their offers no
chat.

The downgrade turns Telegram rows back into numbers; it refuses to run while rows of any
other channel exist, rather than drop them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TELEGRAM = "telegram"
ID = sa.String(length=64)
CHANNEL = sa.String(length=16)


def _text(column: str) -> str:
    return f"CAST({column} AS VARCHAR(64))"


def _number(column: str) -> str:
    return f"CAST({column} AS INTEGER)"


def upgrade() -> None:
    # Customers and technicians: a channel and an id on it.
    for table in ("customers", "technicians"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("channel", CHANNEL, nullable=True))
            batch.add_column(sa.Column("external_id", ID, nullable=True))
        op.execute(
            f"UPDATE {table} SET channel = '{TELEGRAM}', external_id = {_text('telegram_id')}"
        )
    op.execute("UPDATE technicians SET external_id = NULL WHERE telegram_id <= 0")
    for table, required in (("customers", False), ("technicians", True)):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_telegram_id")
            batch.drop_column("telegram_id")
            batch.alter_column("channel", existing_type=CHANNEL, nullable=False)
            batch.alter_column("external_id", existing_type=ID, nullable=required)
            batch.create_index(
                f"ix_{table}_channel_external_id", ["channel", "external_id"], unique=True
            )

    # Job offers: the technician's chat by channel, no chat once they left; text message ids.
    with op.batch_alter_table("job_offers") as batch:
        batch.add_column(sa.Column("channel", CHANNEL, nullable=True))
        for column in ("chat", "notice", "contact", "pin"):
            batch.add_column(sa.Column(f"{column}_0007", ID, nullable=True))
    op.execute(
        f"UPDATE job_offers SET channel = '{TELEGRAM}',"
        f" chat_0007 = CASE WHEN chat_id > 0 THEN {_text('chat_id')} END,"
        f" notice_0007 = {_text('message_id')},"
        f" contact_0007 = {_text('contact_message_id')},"
        f" pin_0007 = {_text('location_message_id')}"
    )
    with op.batch_alter_table("job_offers") as batch:
        for old in ("chat_id", "message_id", "contact_message_id", "location_message_id"):
            batch.drop_column(old)
    with op.batch_alter_table("job_offers") as batch:
        batch.alter_column("channel", existing_type=CHANNEL, nullable=False)
        for old, new in (
            ("chat", "chat_id"),
            ("notice", "message_id"),
            ("contact", "contact_message_id"),
            ("pin", "location_message_id"),
        ):
            batch.alter_column(f"{old}_0007", new_column_name=new, existing_type=ID)

    # Outbox: the chat by channel; text message ids.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("channel", CHANNEL, nullable=True))
        for column in ("chat", "notice", "pin"):
            batch.add_column(sa.Column(f"{column}_0007", ID, nullable=True))
    op.execute(
        f"UPDATE outbox SET channel = '{TELEGRAM}', chat_0007 = {_text('chat_id')},"
        f" notice_0007 = {_text('message_id')}, pin_0007 = {_text('location_message_id')}"
    )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_chat_id")
        for old in ("chat_id", "message_id", "location_message_id"):
            batch.drop_column(old)
    # Ids are never used again (SQLite reuses the highest after a delete; the worker marks a
    # row sent by its id): the rebuild makes the table AUTOINCREMENT.
    with op.batch_alter_table(
        "outbox", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.alter_column("channel", existing_type=CHANNEL, nullable=False)
        batch.alter_column(
            "chat_0007", new_column_name="chat_id", existing_type=ID, nullable=False
        )
        batch.alter_column("notice_0007", new_column_name="message_id", existing_type=ID)
        batch.alter_column("pin_0007", new_column_name="location_message_id", existing_type=ID)
    op.create_index("ix_outbox_channel_chat_id", "outbox", ["channel", "chat_id"])

    # Job views and sessions: their keys change, so the tables are rebuilt.
    op.create_table(
        "job_views_0007",
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["job_offers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("offer_id", "message_id"),
    )
    op.execute(
        "INSERT INTO job_views_0007 (offer_id, message_id)"
        f" SELECT offer_id, {_text('message_id')} FROM job_views"
    )
    op.drop_table("job_views")
    op.rename_table("job_views_0007", "job_views")

    op.create_table(
        "conversation_sessions_0007",
        sa.Column("channel", CHANNEL, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "person_id"),
    )
    op.execute(
        "INSERT INTO conversation_sessions_0007"
        " (channel, person_id, lang, flow, step, data, updated_at)"
        f" SELECT '{TELEGRAM}', {_text('user_id')}, lang, flow, step, data, updated_at"
        " FROM conversation_sessions"
    )
    op.drop_table("conversation_sessions")
    op.rename_table("conversation_sessions_0007", "conversation_sessions")


def downgrade() -> None:
    connection = op.get_bind()
    for table in ("customers", "technicians", "job_offers", "outbox", "conversation_sessions"):
        others = connection.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE channel <> :telegram"),
            {"telegram": TELEGRAM},
        ).scalar()
        if others:
            raise RuntimeError(
                f"cannot downgrade below 0007: {table} holds rows of channels other than"
                " Telegram, which the older schema cannot keep"
            )

    op.create_table(
        "conversation_sessions_0006",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.execute(
        "INSERT INTO conversation_sessions_0006 (user_id, lang, flow, step, data, updated_at)"
        f" SELECT {_number('person_id')}, lang, flow, step, data, updated_at"
        " FROM conversation_sessions"
    )
    op.drop_table("conversation_sessions")
    op.rename_table("conversation_sessions_0006", "conversation_sessions")

    op.create_table(
        "job_views_0006",
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["job_offers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("offer_id", "message_id"),
    )
    op.execute(
        "INSERT INTO job_views_0006 (offer_id, message_id)"
        f" SELECT offer_id, {_number('message_id')} FROM job_views"
    )
    op.drop_table("job_views")
    op.rename_table("job_views_0006", "job_views")

    with op.batch_alter_table("outbox") as batch:
        for column in ("chat", "notice", "pin"):
            batch.add_column(sa.Column(f"{column}_0006", sa.Integer(), nullable=True))
    op.execute(
        f"UPDATE outbox SET chat_0006 = {_number('chat_id')},"
        f" notice_0006 = {_number('message_id')}, pin_0006 = {_number('location_message_id')}"
    )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_channel_chat_id")
        for old in ("channel", "chat_id", "message_id", "location_message_id"):
            batch.drop_column(old)
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column(
            "chat_0006", new_column_name="chat_id", existing_type=sa.Integer(), nullable=False
        )
        batch.alter_column("notice_0006", new_column_name="message_id", existing_type=sa.Integer())
        batch.alter_column(
            "pin_0006", new_column_name="location_message_id", existing_type=sa.Integer()
        )
    op.create_index("ix_outbox_chat_id", "outbox", ["chat_id"])

    with op.batch_alter_table("job_offers") as batch:
        for column in ("chat", "notice", "contact", "pin"):
            batch.add_column(sa.Column(f"{column}_0006", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE job_offers SET"
        f" chat_0006 = COALESCE({_number('chat_id')}, 0),"
        f" notice_0006 = {_number('message_id')},"
        f" contact_0006 = {_number('contact_message_id')},"
        f" pin_0006 = {_number('location_message_id')}"
    )
    with op.batch_alter_table("job_offers") as batch:
        for old in (
            "channel",
            "chat_id",
            "message_id",
            "contact_message_id",
            "location_message_id",
        ):
            batch.drop_column(old)
    with op.batch_alter_table("job_offers") as batch:
        batch.alter_column(
            "chat_0006", new_column_name="chat_id", existing_type=sa.Integer(), nullable=False
        )
        for old, new in (
            ("notice", "message_id"),
            ("contact", "contact_message_id"),
            ("pin", "location_message_id"),
        ):
            batch.alter_column(f"{old}_0006", new_column_name=new, existing_type=sa.Integer())

    for table in ("customers", "technicians"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("telegram_id", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET telegram_id = {_number('external_id')}")
    # A technician who left had a negative placeholder: minus their row's id.
    op.execute("UPDATE technicians SET telegram_id = -id WHERE external_id IS NULL")
    for table in ("customers", "technicians"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_channel_external_id")
            batch.drop_column("channel")
            batch.drop_column("external_id")
            batch.alter_column("telegram_id", existing_type=sa.Integer(), nullable=False)
            batch.create_index(f"ix_{table}_telegram_id", ["telegram_id"], unique=True)
