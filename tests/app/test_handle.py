"""The core without any channel library: events in, a recording channel out, a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import routes
from app.core import Contacts, Core
from app.handle import handle
from app.ports import Unreachable
from conversations import router
from conversations.events import (
    Address,
    ButtonPress,
    Command,
    Inbound,
    Payload,
    Sender,
    Text,
)
from conversations.outbound import Outbound
from storage import technicians
from storage.database import Database
from storage.models import ConversationSession, OutboxMessage
from tests.app.recording import RecordingChannel, recording_core

#: 09:00 in Dhaka: every part of the day is still open.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
CUSTOMER = Address("telegram", "5001")
TECHNICIAN = Address("telegram", "9001")
OPERATORS = Address("telegram", "-100500")


@pytest.fixture
async def core(db: Database) -> AsyncIterator[Core]:
    contacts = Contacts(operators=OPERATORS)
    async with recording_core(db, contacts=contacts, clock=lambda: NOW) as made:
        yield made


def channel(core: Core) -> RecordingChannel:
    found = core.channels["telegram"]
    assert isinstance(found, RecordingChannel)
    return found


def event(payload: Payload, person: Address = CUSTOMER, receipt: str | None = None) -> Inbound:
    sender = Sender(person=person, chat=person, first_name="Rahim", language_code="en")
    return Inbound(sender, payload, receipt=receipt)


def last_buttons(core: Core, chat: Address) -> list[str]:
    """The data of the buttons of the last message to ``chat`` that had any."""
    for to, message in reversed(channel(core).sent):
        if to == chat and isinstance(message, Outbound) and message.buttons:
            return [button.data for row in message.buttons for button in row]
    return []


async def press(core: Core, prefix: str, person: Address = CUSTOMER) -> None:
    data = next(d for d in last_buttons(core, person) if d.startswith(prefix))
    await handle(core, event(ButtonPress(data, "1"), person, receipt="q"))


async def book(core: Core) -> None:
    """A whole booking, in English, Confirm included."""
    await to_summary(core)
    await press(core, "bk:summary:confirm")


async def to_summary(core: Core) -> None:
    """A booking, in English, up to its summary."""
    await handle(core, event(Command("book")))
    await press(core, "bk:consent:yes")
    await press(core, "bk:service:plumbing")
    await handle(core, event(Text("Kitchen tap is leaking")))
    await press(core, "bk:area:mirpur")
    await handle(core, event(Text("House 12, Road 5, Mirpur 10")))
    await handle(core, event(Text("01712345678")))
    await handle(core, event(Text("Rahim Uddin")))
    await press(core, "bk:time:")


async def outbox(core: Core) -> list[tuple[str, str, str]]:
    async with core.db.read() as tx:
        rows = await tx.execute(
            select(OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.kind).order_by(  # type: ignore[call-overload]
                OutboxMessage.id
            )  # in the order written (PostgreSQL may return any)
        )
        return [tuple(row) for row in rows]


async def test_a_whole_booking_is_answered_and_stored_without_any_channel_library(
    core: Core,
) -> None:
    await book(core)
    # No technician: "confirmed" goes by the outbox, before "our team will call" (below).
    assert not any("Booking confirmed" in text for text in channel(core).texts(CUSTOMER))
    assert ("q", "Booking confirmed") in channel(core).acknowledged
    rows = await outbox(core)
    # The confirmation and "our team will call", in order, and the order for the operators.
    assert rows == [
        ("telegram", "5001", "status"),
        ("telegram", "5001", "status"),
        ("telegram", "-100500", "escalation"),
    ]
    # Every press was acknowledged (with its toast: the service, the area...).
    assert len(channel(core).acknowledged) == 5


async def test_an_offer_goes_to_the_technician_and_their_accept_hands_the_contact_over(
    core: Core,
) -> None:
    async with core.db.transaction() as tx:
        await technicians.add(
            tx,
            person=TECHNICIAN,
            name="Karim",
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
            lang="en",
        )
    await book(core)
    assert "Booking confirmed" in channel(core).texts(CUSTOMER)[-1]
    assert await outbox(core) == [("telegram", "9001", "offer")]
    async with core.db.read() as tx:
        offer_id = (await tx.execute(select(OutboxMessage.offer_id))).scalar_one()  # type: ignore[call-overload]
    accept = Inbound(
        Sender(person=TECHNICIAN, chat=TECHNICIAN, language_code="en"),
        ButtonPress(f"job:acc:{offer_id}", "77"),
        receipt="q2",
    )
    await handle(core, accept)
    taken = channel(core).sent[-1]
    assert taken[0] == TECHNICIAN and isinstance(taken[1], Outbound)
    assert taken[1].replaces == "77" and "You accepted" in taken[1].text
    assert ("q2", "Accepted") in channel(core).acknowledged
    kinds = [kind for _, chat, kind in await outbox(core) if chat == "9001"]
    assert kinds == ["offer", "contact"]  # the contact only after Accept
    assert ("telegram", "5001", "status") in await outbox(core)  # "who is coming"


async def test_the_session_is_committed_before_the_answer_is_sent(core: Core) -> None:
    seen: list[str | None] = []
    recording = channel(core)
    original = recording.send

    async def send_and_look(chat: Address, message: Outbound):  # type: ignore[no-untyped-def]
        async with core.db.read() as tx:
            seen.append(
                (
                    await tx.execute(
                        select(ConversationSession.flow).where(  # type: ignore[call-overload]
                            ConversationSession.person_id == CUSTOMER.id
                        )
                    )
                ).scalar()
            )
        return await original(chat, message)

    recording.send = send_and_look  # type: ignore[method-assign]
    await handle(core, event(Command("book")))
    assert seen and seen[0] == "booking"


async def test_unknown_commands_and_stale_buttons_are_answered_by_the_core(core: Core) -> None:
    await handle(core, event(Command("nonsense")))
    await handle(core, event(ButtonPress("zz:1", "3")))
    texts = channel(core).texts(CUSTOMER)
    assert "I don't know the command /nonsense" in texts[0]
    assert "earlier message" in texts[1]


async def test_one_persons_events_run_one_at_a_time_in_arrival_order(core: Core) -> None:
    recording = channel(core)
    original = recording.send
    gate = asyncio.Event()
    order: list[str] = []

    async def slow(chat: Address, message: Outbound):  # type: ignore[no-untyped-def]
        order.append(message.text[:20])
        await gate.wait()
        return await original(chat, message)

    recording.send = slow  # type: ignore[method-assign]
    first = asyncio.create_task(handle(core, event(Command("help"))))
    second = asyncio.create_task(handle(core, event(Command("nonsense"))))
    await asyncio.sleep(0.05)
    # The second event waits for the first to be answered, even though its answer is ready.
    assert len(order) == 1
    gate.set()
    await asyncio.gather(first, second)
    assert len(order) == 2 and "I don't know" in order[1]


async def test_a_failure_gets_an_apology_and_a_closed_chat_stops_the_answer(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(turn, command):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    routes.load()
    monkeypatch.setitem(routes.COMMANDS, "help", routes.Answer(broken))
    await handle(core, event(Command("help")))
    assert "something went wrong" in channel(core).texts(CUSTOMER)[-1]

    channel(core).failures.append(Unreachable("blocked"))
    before = len(channel(core).sent)
    await handle(core, event(Command("privacy")))  # several messages: none after the first fails
    assert len(channel(core).sent) == before


def test_every_command_of_the_interface_has_an_answer_registered_by_its_module() -> None:
    routes.load()
    flows = router.flows()
    customer = {"start", "book", "cancel", "myorders", "mydata", "privacy", "deleteme"}
    customer |= {"language", "help", "jobs", "register", "available", "away"}
    assert customer <= set(routes.COMMANDS)
    assert {"audit", "erase", "orders", "technicians"} <= set(routes.OPERATOR_COMMANDS)
    # Each flow's entry command is answered, and each flow came from its own module.
    assert {"booking", "correct", "rate", "register"} <= set(flows)
    for flow in flows.values():
        assert flow.commands <= set(routes.COMMANDS)


# Several workers: an update a crash interrupted after its commit is handled again by another
# worker; the session, saved with the update's id, tells that its effects are there.


async def test_an_update_handled_again_after_a_crash_asks_the_step_again_and_changes_nothing(
    core: Core,
) -> None:
    await handle(core, event(Command("book")), update=1)
    await press(core, "bk:consent:yes")
    await handle(core, event(Text("not a button")), update=2)  # the service step re-asks
    before = await core.sessions.load(CUSTOMER)
    assert before.applied == 2
    sent = len(channel(core).sent)
    # The same stored update again (a worker died before it was marked done): not applied
    # twice, but answered with the step's question, so the customer is not left waiting.
    await handle(core, event(Text("not a button")), update=2)
    after = await core.sessions.load(CUSTOMER)
    assert (after.flow, after.step, after.data) == (before.flow, before.step, before.data)
    [(_, again)] = channel(core).sent[sent:]
    assert isinstance(again, Outbound)
    assert any(b.data == "bk:service:plumbing" for row in again.buttons for b in row)
    # A new update is applied as usual.
    await press(core, "bk:service:plumbing")
    assert (await core.sessions.load(CUSTOMER)).step != before.step


async def test_with_answer_first_the_update_is_settled_only_after_its_answer(core: Core) -> None:
    order: list[str] = []
    recording = channel(core)
    original = recording.send

    async def send(chat: Address, message: Outbound, **kwargs: object):  # type: ignore[no-untyped-def]
        order.append("answer")
        return await original(chat, message, **kwargs)  # type: ignore[arg-type]

    async def settled() -> None:
        order.append("settled")

    recording.send = send  # type: ignore[method-assign]
    await handle(core, event(Command("book")), settled=settled, update=7, answer_first=True)
    assert order.count("settled") == 1 and order[-1] == "settled" and "answer" in order
    order.clear()
    await handle(core, event(Command("help")), settled=settled)
    assert order[0] == "settled"
