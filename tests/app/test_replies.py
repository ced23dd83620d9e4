"""Answers the channel holds back are never dropped: they go through the outbox, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core import Contacts, Core
from app.handle import deliver, handle
from app.ports import Progress, Refused, Retry, Sent
from conversations import common
from conversations.events import Address, Command, Text
from conversations.outbound import Document, Outbound
from service.delivery import DeliveryWorker
from storage.database import Database
from storage.models import OutboxMessage, utcnow
from tests.app.recording import RecordingChannel, recording_core
from tests.app.test_handle import CUSTOMER, OPERATORS, channel, event


class Clock:
    """The core's time, moved by the test (from the real time: the outbox stamps rows with it)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
async def core(db: Database) -> AsyncIterator[Core]:
    async with recording_core(db, contacts=Contacts(operators=OPERATORS), clock=Clock()) as made:
        yield made


def later(core: Core, seconds: float) -> None:
    clock = core.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(seconds=seconds)


async def send_due(core: Core) -> None:
    await DeliveryWorker(core, per_chat_interval=0).drain()


async def test_an_answer_held_back_by_the_channel_arrives_after_the_wait(core: Core) -> None:
    answer = [Outbound("first"), Outbound("second"), Outbound("third")]
    recording = channel(core)
    recording.failures.append(Retry("rate limited", after=30))
    await deliver(core, recording, CUSTOMER, answer)
    assert recording.texts(CUSTOMER) == []
    await send_due(core)
    assert recording.texts(CUSTOMER) == []  # not before the wait Telegram asked for
    later(core, 31)
    await send_due(core)
    assert recording.texts(CUSTOMER) == ["first", "second", "third"]


async def test_what_was_sent_before_the_hold_is_not_sent_twice(core: Core) -> None:
    recording = channel(core)

    class SecondHeldBack(RecordingChannel):
        async def send(self, chat, message):  # type: ignore[no-untyped-def]
            if message.text == "second":
                raise Retry("rate limited", after=1)
            return await super().send(chat, message)

    holding = SecondHeldBack()
    await deliver(core, holding, CUSTOMER, [Outbound("first"), Outbound("second")])
    assert holding.texts(CUSTOMER) == ["first"]
    later(core, 2)
    await send_due(core)
    assert recording.texts(CUSTOMER) == ["second"]


async def test_later_answers_wait_behind_the_held_one_and_keep_their_order(core: Core) -> None:
    recording = channel(core)
    recording.failures.append(Retry("rate limited", after=30))
    await handle(core, event(Command("start")))  # held back
    await handle(core, event(Text("hello")))  # would overtake it if sent directly
    assert recording.texts(CUSTOMER) == []
    later(core, 31)
    await send_due(core)
    texts = recording.texts(CUSTOMER)
    assert len(texts) == 2
    assert "Welcome" in texts[0]  # the answer to /start first, then the answer to "hello"
    assert texts[1] == common.idle_hint("en").text
    await handle(core, event(Text("hello again")))  # nothing waits any more: sent at once
    assert len(recording.texts(CUSTOMER)) == 3
    assert CUSTOMER not in core.backlog


async def test_a_network_failure_without_a_named_wait_is_retried_shortly(core: Core) -> None:
    recording = channel(core)
    recording.failures.append(Retry("NetworkError"))
    await deliver(core, recording, CUSTOMER, [Outbound("hello")])
    later(core, 3)
    await send_due(core)
    assert recording.texts(CUSTOMER) == ["hello"]


async def test_a_held_back_file_becomes_a_request_to_ask_again(core: Core) -> None:
    recording = channel(core)

    class FileHeldBack(RecordingChannel):
        async def send_document(self, chat, document):  # type: ignore[no-untyped-def]
            raise Retry("rate limited", after=1)

    await deliver(
        core, FileHeldBack(), CUSTOMER, [Document("data.json", b"{}"), Outbound("done")], "en"
    )
    later(core, 2)
    await send_due(core)
    asked, done = recording.texts(CUSTOMER)
    assert "could not be sent just now" in asked and done == "done"


async def test_a_refused_answer_is_not_queued(core: Core) -> None:
    recording = channel(core)
    recording.failures.append(Refused("message is too long"))
    await deliver(core, recording, CUSTOMER, [Outbound("bad"), Outbound("good")])
    assert recording.texts(CUSTOMER) == ["good"]
    assert CUSTOMER not in core.backlog


async def test_a_held_back_pin_goes_alone_and_its_text_is_not_sent_twice(core: Core) -> None:
    recording = channel(core)
    pins: list[Address] = []

    class PinHeldBack(RecordingChannel):
        async def send(self, chat, message, *, progress=None):  # type: ignore[no-untyped-def]
            self.sent.append((chat, message))  # the text goes out, then the pin is refused
            error = Retry("rate limited", after=1)
            error.progress = Progress(Sent("77"))
            raise error

    original = recording.send

    async def counting(chat, message, *, progress=None):  # type: ignore[no-untyped-def]
        sent = await original(chat, message, progress=progress)
        pins.append(chat)
        assert progress is not None and progress.sent.message_id == "77"
        return sent

    recording.send = counting  # type: ignore[method-assign]
    holding = PinHeldBack()
    card = Outbound("Rahim, House 12", location=(23.8, 90.4))
    await deliver(core, holding, CUSTOMER, [card])
    later(core, 2)
    await send_due(core)
    assert holding.texts(CUSTOMER) == ["Rahim, House 12"]
    assert recording.texts(CUSTOMER) == []  # the text is not sent again
    assert pins == [CUSTOMER]  # only the pin went, on the row that kept the text's id
    async with core.db.read() as tx:
        kept = await tx.rows(select(OutboxMessage.message_id))  # type: ignore[arg-type]
    assert kept == [("77",)]
