"""The outbox keeps each part of a notice as it goes out, and erasure finds every part."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from channels.telegram.inbound import address
from conversations.outbound import Outbound, to_json
from storage import migrate, outbox, outbox_outcomes
from storage.database import Database, create_engine
from storage.models import OutboxStatus

CHAT = address(-100500)


async def enqueue(db: Database, *, customer_id: int | None = 1) -> int:
    async with db.transaction() as tx:
        return await outbox.enqueue(
            tx,
            to=CHAT,
            kind=outbox.ESCALATION,
            body=to_json(Outbound("order", location=(23.8, 90.4))),
            customer_id=customer_id,
        )


async def test_what_went_out_stays_on_the_pending_row_for_its_retry(db: Database) -> None:
    row_id = await enqueue(db)
    progress = outbox_outcomes.progress(
        outbox_id=row_id,
        message_id="11",
        location_message_id=None,
        copies=("10",),
        unsure=1,
        unsure_since="boot.0:9",
    )
    assert (await db.write(progress))[0] == 1
    async with db.read() as tx:
        [row] = await outbox.due(tx, now=datetime.now(UTC))
    assert (row.message_id, row.location_message_id, row.copies, row.unsure) == (
        "11",
        None,
        ("10",),
        1,
    )
    assert row.unsure_since == "boot.0:9"  # where the channel may look, kept across restarts


async def test_the_mark_goes_once_nothing_is_unsure(db: Database) -> None:
    row_id = await enqueue(db)
    first = outbox_outcomes.progress(
        outbox_id=row_id,
        message_id=None,
        location_message_id=None,
        copies=(),
        unsure=1,
        unsure_since="boot.0:9",
    )
    await db.write(first)
    await db.write(
        outbox_outcomes.progress(
            outbox_id=row_id, message_id="12", location_message_id=None, copies=(), unsure=0
        )
    )
    async with db.read() as tx:
        [row] = await outbox.due(tx, now=datetime.now(UTC))
    assert (row.unsure, row.unsure_since) == (0, None)


async def test_erasure_finds_a_pending_row_s_parts_and_its_copies(db: Database) -> None:
    row_id = await enqueue(db)
    await db.write(
        outbox_outcomes.progress(
            outbox_id=row_id, message_id="11", location_message_id=None, copies=("10",), unsure=0
        )
    )
    async with db.read() as tx:
        found = await outbox.sent_about(tx, kind=outbox.ESCALATION, customer_id=1)
    assert [(copy.chat, copy.message_id, copy.location_message_id) for copy in found] == [
        (CHAT, "11", None),
        (CHAT, "10", None),
    ]


async def test_a_row_given_up_after_its_text_went_out_is_still_found(db: Database) -> None:
    row_id = await enqueue(db)
    writes = outbox_outcomes.progress(
        outbox_id=row_id, message_id="11", location_message_id=None, copies=(), unsure=0
    ) + outbox_outcomes.given_up(outbox_id=row_id, status=OutboxStatus.FAILED)
    await db.write(writes)
    async with db.read() as tx:
        found = await outbox.sent_about(tx, kind=outbox.ESCALATION, customer_id=1)
    assert [copy.message_id for copy in found] == ["11"]


async def test_progress_on_a_row_erased_in_flight_changes_nothing(db: Database) -> None:
    writes = outbox_outcomes.progress(
        outbox_id=999, message_id="11", location_message_id="12", copies=(), unsure=0
    )
    assert (await db.write(writes))[0] == 0  # the caller takes the parts back


async def test_a_sent_row_keeps_its_copies(db: Database) -> None:
    row_id = await enqueue(db)
    await db.write(
        outbox_outcomes.sent(
            outbox_id=row_id, message_id="12", location_message_id="13", copies=["11"]
        )
    )
    async with db.read() as tx:
        found = await outbox.sent_about(tx, kind=outbox.ESCALATION, customer_id=1)
    assert [(c.message_id, c.location_message_id) for c in found] == [("12", "13"), ("11", None)]


# --- 0009: the steps' columns ----------------------------------------------------------------


def _rows(path: Path, query: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


async def test_0009_adds_the_steps_columns_and_takes_them_back(tmp_path: Path) -> None:
    path = tmp_path / "steps.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(engine, "0008")
        connection = sqlite3.connect(path)
        connection.execute(
            "INSERT INTO outbox (id, channel, chat_id, kind, status, attempts, due_at,"
            " created_at, message_id) VALUES (1, 'telegram', '9001', 'contact', 'pending', 2,"
            " '2026-01-01', '2026-01-01', '12')"
        )
        connection.commit()
        connection.close()
        await migrate.upgrade(engine, "head")
        assert _rows(path, "SELECT id, message_id, unsure, copies, unsure_since FROM outbox") == [
            (1, "12", 0, None, None)
        ]
        await migrate.downgrade(engine, "0008")
        columns = [row[1] for row in _rows(path, "PRAGMA table_info(outbox)")]
        assert not {"unsure", "copies", "unsure_since"} & set(columns)
        assert _rows(path, "SELECT id, message_id, attempts FROM outbox") == [(1, "12", 2)]
    finally:
        await engine.dispose()
