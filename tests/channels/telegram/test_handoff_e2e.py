"""Talk to a person, end to end through the runtime and the recording offline Bot API.

A customer asks for a person in the middle of a booking; the operators' chat (a group) gets
the thread; an operator answers with Telegram's reply-to, the customer writes again, /done
ends it and the booking resumes with every answer it had. Outside support hours the
customer is told when someone answers; an erasure takes the thread out of the operators'
chat; the customer's phone never reaches it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from channels.telegram.fake_api import ApiCall
from conversations.dates import clock
from conversations.hours import DHAKA
from storage import orders
from tests.channels.telegram.test_booking_e2e import (
    ADDRESS,
    ADMIN_CHAT,
    CUSTOMER,
    CUSTOMER_E164,
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    TECH,
    Harness,
    Step,
    assert_all_ok,
    book_until,
    has_number,
    inline_data,
    only_time_buttons,
    text_of,
)
from tests.conftest import Bot

OPERATOR = 6_000_001
STRANGER = 6_000_002


@pytest.fixture
def harness(bot: Bot) -> Harness:
    # Always within support hours, unless a test says otherwise.
    core = bot.runtime.core
    core.contacts = replace(core.contacts, support_hours="00:00-24:00")
    return Harness(bot)


def thread_messages(harness: Harness) -> list[dict[str, Any]]:
    """The bot's messages in the operators' chat that carry a conversation's Done button."""
    return [
        message
        for message in harness.api.messages(ADMIN_CHAT)
        if message["from"]["is_bot"]
        and any(
            button.get("callback_data", "").startswith("op:hd:")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", ())
            for button in row
        )
    ]


async def operator_replies(
    harness: Harness, words: str, to: int, user: int = OPERATOR, name: str = "Nadia"
) -> Step:
    """``user`` answers message ``to`` of the operators' chat with Telegram's reply-to."""
    update = harness.api.group_text_update(ADMIN_CHAT, user, words, name, "en")
    replied = harness.api.message(ADMIN_CHAT, to)
    assert replied is not None
    update["message"]["reply_to_message"] = replied
    return await harness._run(update)


def nothing_personal(calls: list[ApiCall]) -> None:
    for call in calls:
        shown = str(call.params)
        assert not has_number(shown, CUSTOMER_PHONE), shown
        assert "1712345678" not in shown and CUSTOMER_E164 not in shown
        assert "Mirpur 10" not in shown and CUSTOMER_NAME not in shown
        assert str(CUSTOMER) not in shown


async def count(bot: Bot, sql: str) -> int:
    async with bot.runtime.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar() or 0)


async def test_a_person_mid_booking_then_the_booking_resumes_intact(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    # Address and phone given; the name is asked next.
    await book_until(customer, "name")

    asked = await customer.say("I want to talk to a person")
    to_customer = asked.texts(CUSTOMER)
    assert any("Your message is with our team" in said for said in to_customer)
    assert any("Your booking is kept" in said for said in to_customer)
    [back] = [d for call in asked.sends(CUSTOMER) for d in inline_data(call)]
    assert back == "hd:back"
    [opened] = asked.sends(ADMIN_CHAT)
    assert "Talk to a person · #1" in text_of(opened)
    assert "│ I want to talk to a person" in text_of(opened)
    assert "Orders: none open" in text_of(opened) and "Language: English" in text_of(opened)
    assert inline_data(opened) == ["op:hd:1"]
    first_id = opened.message_id
    assert first_id is not None

    answer = await operator_replies(harness, "Hello <Rahim>, how can we help?", first_id)
    [relayed] = answer.sends(CUSTOMER)
    assert text_of(relayed) == "💬 <b>Mistri Services</b>: Hello &lt;Rahim&gt;, how can we help?"
    assert inline_data(relayed) == ["hd:open"]
    assert answer.texts(ADMIN_CHAT) == ["↪️ Sent to #1."]

    again = await customer.say("Can the plumber come before noon?")
    assert again.texts(CUSTOMER) == ["✓ Sent to our team."]
    [later] = again.sends(ADMIN_CHAT)
    assert "#1 writes" in text_of(later) and "│ Can the plumber come before noon?" in text_of(
        later
    )
    assert inline_data(later) == ["op:hd:1"]

    # A reply to the later message reaches the same customer.
    second = await operator_replies(harness, "Yes, we will note it.", later.message_id or 0)
    assert len(second.sends(CUSTOMER)) == 1

    done = await operator_replies(harness, "/done", first_id)
    assert done.texts(ADMIN_CHAT) == ["✅ #1 closed; the customer was told."]
    closing, *resumed = done.texts(CUSTOMER)
    assert "closed this conversation" in closing
    assert resumed, "the booking's question comes back"
    # The operators' chat never saw the customer's phone, address or name.
    nothing_personal(
        [call for call in harness.api.calls if call.params.get("chat_id") == ADMIN_CHAT]
    )

    # The booking goes on from the name, with the address and phone given before.
    await customer.say(CUSTOMER_NAME)
    await customer.press(only_time_buttons(customer.last_prompt())[0])
    confirmed = await customer.press("bk:summary:confirm")
    assert any("MS-" in said for said in confirmed.texts(CUSTOMER))
    async with bot.runtime.db.read() as tx:
        order = await orders.load(tx, order_id=1)
    assert order is not None
    assert order.phone == CUSTOMER_E164 and order.address == ADDRESS
    assert await count(bot, "SELECT count(*) FROM handoff_threads WHERE status = 'closed'") == 1

    # After /done a reply is not relayed; the operators are told.
    late = await operator_replies(harness, "One more thing", first_id)
    assert late.sends(CUSTOMER) == []
    assert "is closed; nothing was sent" in late.texts(ADMIN_CHAT)[0]
    assert_all_ok(harness.api)
    harness.assert_every_press_answered()


async def test_the_done_button_and_back_to_the_booking(harness: Harness, bot: Bot) -> None:
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "bn")
    await book_until(customer, "address")
    asked = await customer.say("মানুষের সাথে কথা বলতে চাই")
    [opened] = asked.sends(ADMIN_CHAT)
    assert "Language: বাংলা" in text_of(opened)
    # The customer goes back to the booking: the address question again, the thread open.
    back = await customer.press("hd:back")
    assert back.sends(ADMIN_CHAT) == [] and len(back.sends(CUSTOMER)) >= 2
    answered = await customer.say(ADDRESS)  # the booking takes it, not the team
    assert answered.sends(ADMIN_CHAT) == []
    # An answer still reaches them; *Reply* takes them back to the team.
    reached = await operator_replies(harness, "Are you still there?", opened.message_id or 0)
    assert len(reached.sends(CUSTOMER)) == 1
    reply = await customer.press("hd:open")
    assert reply.sends(ADMIN_CHAT) == []
    wrote = await customer.say("হ্যাঁ")
    assert len(wrote.sends(ADMIN_CHAT)) == 1
    # The Done button under the thread's message.
    message_id = opened.message_id or 0
    pressed = await harness._run(
        harness.api.group_callback_update(
            ADMIN_CHAT, OPERATOR, "op:hd:1", message_id, first_name="Nadia", language_code="en"
        )
    )
    assert "closed" in pressed.texts(ADMIN_CHAT)[0]
    told = pressed.sends(CUSTOMER)
    assert len(told) >= 2 and inline_data(told[0]) == ["hd:start"]
    assert_all_ok(harness.api)


async def test_outside_support_hours_the_customer_is_told_when(harness: Harness, bot: Bot) -> None:
    now = datetime.now(DHAKA)
    start = (now + timedelta(hours=2)).replace(minute=0)
    end = "24:00" if start.hour == 23 else f"{start.hour + 1:02d}:00"
    core = bot.runtime.core
    core.contacts = replace(core.contacts, support_hours=f"{start:%H}:00-{end}")
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    asked = await customer.say("human")
    said = asked.texts(CUSTOMER)[0]
    day = "today" if start.date() == now.date() else "tomorrow"
    assert f"someone will answer you here after {clock(start.time(), 'en')} {day}" in said
    assert len(asked.sends(ADMIN_CHAT)) == 1  # the message is with them all the same


async def test_only_operators_answer_and_other_replies_are_not_read(
    harness: Harness, bot: Bot
) -> None:
    harness.api.administrators[ADMIN_CHAT] = [OPERATOR]
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    asked = await customer.say("talk to a human")
    [opened] = asked.sends(ADMIN_CHAT)
    refused = await operator_replies(harness, "hi", opened.message_id or 0, STRANGER, "Someone")
    assert refused.sends(CUSTOMER) == []
    assert "Only the operators" in refused.texts(ADMIN_CHAT)[0]
    # The operators' talk among themselves is not read, a reply to one another's neither.
    chat = await harness._run(harness.api.group_text_update(ADMIN_CHAT, OPERATOR, "on it"))
    assert chat.calls == []
    theirs = harness.api.group_text_update(ADMIN_CHAT, STRANGER, "thanks", "Someone", "en")
    theirs["message"]["reply_to_message"] = chat_message = harness.api.messages(ADMIN_CHAT)[-2]
    assert not chat_message["from"]["is_bot"]
    assert (await harness._run(theirs)).calls == []


async def test_erasure_takes_the_thread_out_of_the_operators_chat(
    harness: Harness, bot: Bot
) -> None:
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    await customer.say("talk to a person")
    await customer.say("my order is late")
    ids = [message["message_id"] for message in thread_messages(harness)]
    assert len(ids) == 2
    await customer.say("/deleteme")
    erased = await customer.press("dr:delete:yes")
    deleted = sorted(
        call.params["message_id"]
        for call in erased.to(ADMIN_CHAT)
        if call.method == "deleteMessage"
    )
    assert deleted == sorted(ids)
    assert thread_messages(harness) == []
    assert await count(bot, "SELECT count(*) FROM handoff_threads") == 0
    assert await count(bot, "SELECT count(*) FROM handoff_messages") == 0
    assert_all_ok(harness.api)


async def test_an_order_no_technician_takes_offers_a_person(harness: Harness, bot: Bot) -> None:
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    steps = await book_until(customer, "done")
    told = [
        call
        for call in steps["summary"].sends(CUSTOMER)
        if "No technician is free" in text_of(call)
    ]
    assert told and inline_data(told[0]) == ["hd:start"]
