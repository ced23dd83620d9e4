"""Faults one notice must not spread: a group that moved, an unexpected exception, a bad token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.core import Contacts, Core
from app.locks import LocalLocks
from app.ports import Progress, Sent
from channels.telegram.fake_api import OfflineRequest
from channels.telegram.inbound import address
from conversations.events import Address
from conversations.outbound import Outbound, to_json
from service.config import Settings
from service.delivery import DeliveryWorker
from service.runtime import start
from storage import chat_moves, outbox
from storage.database import Database
from storage.models import OutboxMessage, OutboxStatus
from storage.sessions import SessionStore
from tests.app.recording import RecordingChannel
from tests.channels.telegram.test_booking_e2e import (
    ADMIN_CHAT,
    CUSTOMER,
    Harness,
    complete_booking,
    harness,  # noqa: F401 - the fixture
    text_of,
)
from tests.conftest import TOKEN, Bot

SUPERGROUP = -1_001_234_567_890
OPERATOR = 6_000_001


# ------------------------------------------------------------- a group upgraded (item 7)


async def test_an_upgraded_operators_group_is_followed_and_its_notices_arrive(
    harness: Harness,  # noqa: F811
    bot: Bot,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    harness.api.migrate_group(ADMIN_CHAT, SUPERGROUP)
    harness.api.administrators[SUPERGROUP] = [OPERATOR]
    reference, _ = await complete_booking(harness.user(CUSTOMER))  # no technician: escalated
    escalations = harness.api.sent_to(SUPERGROUP)
    assert len(escalations) == 1 and reference in text_of(escalations[0])
    assert bot.runtime.core.contacts.operators == address(SUPERGROUP)
    warnings = [r.getMessage() for r in caplog.records if "MISTRI_ADMIN_CHAT_ID" in r.getMessage()]
    assert warnings == [
        f"the operators' chat {ADMIN_CHAT} was upgraded to a supergroup and is"
        f" now {SUPERGROUP}: set MISTRI_ADMIN_CHAT_ID={SUPERGROUP}"
    ]
    async with bot.runtime.engine.connect() as conn:
        statuses = (await conn.execute(select(OutboxMessage.status))).scalars().all()  # type: ignore[call-overload]
    assert OutboxStatus.PENDING not in statuses

    # The next notice goes straight there, without a word more in the log.
    await complete_booking(harness.user(CUSTOMER + 1, "Karim"))
    assert len(harness.api.sent_to(SUPERGROUP)) == 2
    assert len([r for r in caplog.records if "MISTRI_ADMIN_CHAT_ID" in r.getMessage()]) == 1

    # Updates from the supergroup are the operators'.
    orders = await harness._run(
        harness.api.group_text_update(SUPERGROUP, OPERATOR, "/orders", "Nadia", "en")
    )
    assert reference in " ".join(orders.texts(SUPERGROUP))

    # After a restart with the old id still configured, the new one is used at once.
    caplog.clear()
    again = await start(
        settings, token=TOKEN, request=OfflineRequest(harness.api), rate_limit=False
    )
    try:
        assert again.core.contacts.operators == address(SUPERGROUP)
    finally:
        await again.close()
    assert any("MISTRI_ADMIN_CHAT_ID" in r.getMessage() for r in caplog.records)


async def test_a_moved_chat_takes_its_pending_notices_and_drops_what_it_cannot_reach(
    db: Database,
) -> None:
    old, new = address(-500), address(SUPERGROUP)
    async with db.transaction() as tx:
        await outbox.enqueue(tx, to=old, kind="status", body=to_json(Outbound("first")))
        edit = to_json(Outbound("edited", replaces="7"))
        await outbox.enqueue(tx, to=old, kind="status", body=edit)
        await outbox.enqueue(
            tx, to=old, kind=outbox.WITHDRAW, body={"messages": ["3"], "text": "—"}
        )
    async with db.transaction() as tx:
        assert await chat_moves.record(tx, old=old, new=new) == (2, 1)
    async with db.read() as tx:
        due = await outbox.due(tx, now=datetime.now(UTC))
        assert await chat_moves.moves(tx) == {old: new}
    assert [(row.chat, row.body.get("text"), row.body.get("replaces")) for row in due] == [
        (new, "first", None),
        (new, "edited", None),  # sent anew: "7" is another message in the new chat
    ]


# ------------------------------------------------- one chat's exception, the others' rows


BROKEN = Address("telegram", "1001")
FINE = Address("telegram", "1002")


class Troubled(RecordingChannel):
    """One chat's sends raise something no one expected; the others' take a moment."""

    async def send(
        self, chat: Address, message: Outbound, *, progress: Progress | None = None
    ) -> Sent:
        if chat == BROKEN:
            raise RuntimeError("boom for 01712345678")
        await asyncio.sleep(0.05)
        return await super().send(chat, message, progress=progress)


@pytest.fixture
async def troubled(db: Database) -> AsyncIterator[tuple[Core, Troubled]]:
    channel = Troubled()
    sessions = SessionStore(db)
    core = Core(
        db=db,
        sessions=sessions,
        channels={"telegram": channel},
        lock=LocalLocks(),
        contacts=Contacts(),
    )
    yield core, channel
    await sessions.close()


async def test_an_unexpected_exception_backs_its_row_off_and_others_go_once(
    db: Database, troubled: tuple[Core, Troubled], caplog: pytest.LogCaptureFixture
) -> None:
    core, channel = troubled
    async with db.transaction() as tx:
        await outbox.enqueue(tx, to=BROKEN, kind="status", body=to_json(Outbound("for broken")))
        free = to_json(Outbound("No technician is free"))
        await outbox.enqueue(tx, to=FINE, kind="status", body=free)
    worker = DeliveryWorker(core, per_chat_interval=0)
    for _ in range(2):  # two rounds, as the worker's loop would run them
        with contextlib.suppress(RuntimeError):
            await worker.run_once()
    await asyncio.sleep(0.2)  # anything still running from the first round
    assert channel.texts(FINE) == ["No technician is free"]  # sent exactly once
    columns = (OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.attempts)
    async with db.read() as tx:
        query = select(*columns, OutboxMessage.due_at).order_by(OutboxMessage.id)  # type: ignore[call-overload, arg-type]
        rows = (await tx.execute(query)).all()
    (_, broken_status, broken_attempts, due_at), (_, fine_status, _, _) = rows
    assert (broken_status, broken_attempts, fine_status) == ("pending", 1, "sent")
    assert due_at.replace(tzinfo=UTC) > datetime.now(UTC)  # backed off, not due again at once
    logged = caplog.text
    assert "unexpected RuntimeError" in logged and "01712345678" not in logged


# ------------------------------------------------------------------ a token refused


async def test_a_refused_token_backs_the_notice_off_and_gives_nothing_up(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(9_001_001, name="Karim")
    harness.api.fail_next(9_001_001, 401, "Unauthorized")
    await complete_booking(harness.user(CUSTOMER))
    async with bot.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts).where(  # type: ignore[call-overload]
                    OutboxMessage.kind == "offer"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [("offer", "pending", 1)]
