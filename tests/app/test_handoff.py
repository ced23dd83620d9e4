"""The core's side of Talk to a person: threads as rows, relays as outbox rows, /done, erasure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.core import Contacts, Core
from app.handle import handle
from conversations.events import Address, ButtonPress, Command, Inbound, Payload, Sender, Text
from conversations.outbound import Outbound
from service.delivery import DeliveryWorker
from storage import outbox
from storage.database import Database
from tests.app.recording import RecordingChannel, recording_core
from tests.app.test_handle import CUSTOMER, NOW, OPERATORS, channel, event

OPERATOR = Address("telegram", "6001")


@pytest.fixture
async def core(db: Database) -> AsyncIterator[Core]:
    async with recording_core(
        db,
        RecordingChannel(admins=frozenset({OPERATOR.id})),
        contacts=Contacts(operators=OPERATORS, support_hours="00:00-24:00"),
    ) as made:
        yield made


def in_group(payload: Payload, reply_to: str | None, person: Address = OPERATOR) -> Inbound:
    sender = Sender(person=person, chat=OPERATORS, language_code="en", private=False)
    return Inbound(sender, payload, reply_to=reply_to)


async def deliver(core: Core) -> None:
    await DeliveryWorker(core, per_chat_interval=0).drain()


async def rows(core: Core, sql: str) -> list[tuple[object, ...]]:
    async with core.db.read() as tx:
        return [tuple(row) for row in (await tx.execute(text(sql))).all()]


def last_to(core: Core, chat: Address) -> Outbound:
    found = [m for to, m in channel(core).sent if to == chat and isinstance(m, Outbound)]
    return found[-1]


async def thread_message_id(core: Core) -> str:
    [(message_id,)] = await rows(core, "SELECT message_id FROM handoff_messages LIMIT 1")
    assert isinstance(message_id, str)
    return message_id


async def test_without_an_operators_chat_nobody_is_promised_an_answer(core: Core) -> None:
    core.contacts = Contacts(support_phone="+8809612345678")
    await handle(core, event(Text("talk to a person")))
    said = channel(core).texts(CUSTOMER)
    assert any("nobody can read messages here" in one for one in said)
    assert any("+8809612345678" in one for one in said)
    assert not any("Your message is with our team" in one for one in said)
    assert await rows(core, "SELECT id FROM handoff_threads") == []
    assert await rows(core, "SELECT flow FROM conversation_sessions") == [("idle",)]


async def test_a_reply_finds_its_thread_after_the_outbox_row_is_gone(core: Core) -> None:
    await handle(core, event(Text("I need a human")))
    [(kind, customer_id)] = await rows(core, "SELECT kind, customer_id FROM outbox")
    assert kind == "handoff" and customer_id is None  # someone who never booked
    await deliver(core)
    message_id = await thread_message_id(core)
    # Sent rows go after a week; the thread's message keeps its id for the replies.
    async with core.db.transaction() as tx:
        await outbox.purge_finished(tx, before=NOW + timedelta(days=3650))
    assert await rows(core, "SELECT id FROM outbox") == []
    await handle(core, in_group(Text("Hello from the team"), message_id))
    await deliver(core)
    assert "Hello from the team" in last_to(core, CUSTOMER).text
    assert last_to(core, OPERATORS).text == "↪️ Sent to #1."


async def test_an_operator_who_is_also_the_customer_can_close_their_own_thread(
    core: Core,
) -> None:
    # A test of one's own set-up: the operator writes to the bot, then answers in the group.
    await handle(core, event(Text("talk to a person"), person=OPERATOR))
    await deliver(core)
    done = handle(core, in_group(Command("done", "1"), None))
    await asyncio.wait_for(done, timeout=5)  # their own lock is held already: no deadlock
    await deliver(core)
    assert "closed" in last_to(core, OPERATORS).text
    assert "closed this conversation" in last_to(core, OPERATOR).text
    assert await rows(core, "SELECT status FROM handoff_threads") == [("closed",)]
    assert await rows(core, "SELECT flow FROM conversation_sessions") == [("idle",)]


async def test_done_names_a_thread_or_says_how(core: Core) -> None:
    await handle(core, in_group(Command("done"), None))
    assert "/done followed by its number" in last_to(core, OPERATORS).text
    await handle(core, in_group(Command("done", "99"), None))
    assert "No such conversation" in last_to(core, OPERATORS).text
    await handle(core, in_group(ButtonPress("op:hd:1", "5"), None))
    assert "No such conversation" in last_to(core, OPERATORS).text


async def test_erasing_someone_who_only_talked_to_the_team(core: Core) -> None:
    await handle(core, event(Text("talk to a person")))
    await deliver(core)
    message_id = await thread_message_id(core)
    await handle(core, event(Text("and one more thing")))  # still waiting in the outbox
    assert len(await rows(core, "SELECT id FROM outbox WHERE status = 'pending'")) == 1
    await handle(core, event(ButtonPress("dr:delete:yes", "3"), receipt="q"))
    said = channel(core).texts(CUSTOMER)[-1]
    assert "nothing" not in said.casefold()  # their conversation was data held
    await deliver(core)
    # The message in the chat is deleted; the one still waiting never goes out.
    assert channel(core).deleted == [(OPERATORS, message_id)]
    assert not any("one more thing" in one for one in channel(core).texts(OPERATORS))
    assert await rows(core, "SELECT id FROM handoff_threads") == []
    assert await rows(core, "SELECT id FROM handoff_messages") == []


async def test_a_reply_to_another_message_of_the_bot_is_ignored(core: Core) -> None:
    await handle(core, in_group(Text("thanks all"), "12345"))
    await handle(core, in_group(Text("thanks all"), "12345", person=Address("telegram", "7")))
    assert channel(core).sent == []
