"""The job lifecycle end to end: /jobs buttons, the customer's rating and cancel, operators.

Through the real runtime and the recording offline Bot API, as test_booking_e2e.py:
On the way / Done / Cancel with a reason on the technician's side, every press authorised
from the database; the customer told of each change (in their language); the rating and its
comment; a customer's cancel from /myorders; the operators' /orders, /technicians and the
escalation's Assign buttons.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from conversations.digits import localize_digits
from storage import orders
from storage.orders import StoredOrder
from tests.channels.telegram.test_booking_e2e import (
    ADDRESS,
    ADMIN_CHAT,
    CUSTOMER,
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    STEP_SIGNATURES,
    STRANGER,
    TECH,
    TECH_2,
    TECH_2_NAME,
    TECH_NAME,
    Harness,
    Person,
    Step,
    assert_all_ok,
    complete_booking,
    has_number,
    inline_data,
    message_with_button,
    text_of,
)
from tests.conftest import Bot

CUSTOMER_2 = 5_001_002
CUSTOMER_3 = 5_001_003
OPERATOR = 6_000_001
OTHER_TECH = 9_001_009


@pytest.fixture
def harness(bot: Bot) -> Harness:
    return Harness(bot)


# ------------------------------------------------------------------------------- helpers


async def stored(bot: Bot, reference: str) -> StoredOrder:
    """The order with ``reference``, as stored (decrypted)."""
    async with bot.runtime.db.read() as tx:
        found = await tx.conn.execute(
            text("SELECT id FROM orders WHERE reference = :r"), {"r": reference}
        )
        order = await orders.load(tx, order_id=int(found.scalar_one()))
    assert order is not None
    return order


async def accepted(
    harness: Harness, customer: Person, technician: int = TECH, tech_lang: str = "en"
) -> tuple[str, int]:
    """Book as ``customer`` and have ``technician`` accept; return (reference, order id)."""
    reference, confirm = await complete_booking(customer)
    accept = next(
        d for call in confirm.sends(technician) for d in inline_data(call) if ":acc:" in d
    )
    notice_id = message_with_button(harness.api, technician, accept)
    await harness.user(technician, "Karim", tech_lang).press(accept, notice_id)
    return reference, (await stored(harness.bot, reference)).id


def buttons_of(step: Step, chat: int) -> list[str]:
    return [data for call in step.to(chat) for data in inline_data(call)]


async def operator_says(harness: Harness, words: str) -> Step:
    return await harness._run(
        harness.api.group_text_update(ADMIN_CHAT, OPERATOR, words, "Nadia", "en")
    )


async def operator_presses(harness: Harness, data: str, message_id: int | None = None) -> Step:
    if message_id is None:
        message_id = message_with_button(harness.api, ADMIN_CHAT, data)
    return await harness._run(
        harness.api.group_callback_update(
            ADMIN_CHAT, OPERATOR, data, message_id, first_name="Nadia", language_code="en"
        )
    )


async def set_column(bot: Bot, sql: str, **params: Any) -> None:
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(text(sql), params)


# ----------------------------------------------------------------------- /jobs and its buttons


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_on_the_way_then_done_tells_the_customer_each_time(
    harness: Harness, bot: Bot, lang: str
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)

    # /jobs: the job, its contact, and what can happen next.
    listed = await technician.say("/jobs")
    assert listed.seq(TECH) == ["sendMessage"]
    shown = listed.texts(TECH)[0]
    assert reference in shown and CUSTOMER_NAME in shown and ADDRESS in shown
    assert has_number(shown, CUSTOMER_PHONE)
    assert buttons_of(listed, TECH) == [f"job:way:{order_id}", f"job:cxl:{order_id}"]

    # On the way: the job message is edited (now Done / Cancel), the customer is told.
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")
    way = await technician.press(f"job:way:{order_id}", job_message)
    assert way.chats() == {TECH, CUSTOMER}
    assert way.seq(TECH) == ["answerCallbackQuery", "editMessageText"]
    assert way.to(TECH)[0].params["message_id"] == job_message
    assert buttons_of(way, TECH) == [f"job:done:{order_id}", f"job:cxl:{order_id}"]
    assert way.seq(CUSTOMER) == ["sendMessage"]
    told = way.texts(CUSTOMER)[0]
    assert reference in told and TECH_NAME in told
    if lang == "en":
        assert "is on the way for your job" in told
    else:
        assert "on the way" not in told  # the customer's language, not the technician's
    assert (await stored(bot, reference)).status == "on_the_way"

    # Done: the message loses its buttons; the customer is asked for 1-5 stars.
    done = await technician.press(f"job:done:{order_id}", job_message)
    assert done.seq(TECH) == ["answerCallbackQuery", "editMessageText"]
    assert "reply_markup" not in done.to(TECH)[0].params
    assert done.seq(CUSTOMER) == ["sendMessage"]
    assert buttons_of(done, CUSTOMER) == [f"rt:{order_id}:{n}" for n in range(1, 6)]
    asked = done.texts(CUSTOMER)[0]
    assert reference in asked
    if lang == "en":
        assert "is done" in asked and "How was it?" in asked
    labels = [
        button["text"]
        for row in done.sends(CUSTOMER)[0].params["reply_markup"]["inline_keyboard"]
        for button in row
    ]
    assert labels[0] == localize_digits("1 ⭐", lang)
    assert (await stored(bot, reference)).status == "done"

    # Nothing open any more.
    after = await technician.say("/jobs")
    assert after.texts(TECH) == ["You have no open jobs."]
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_job_buttons_are_authorised_and_follow_the_states(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678")
    customer = harness.user(CUSTOMER)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")

    # Someone else (a stranger, another technician) is refused; nothing moves, nobody hears.
    for intruder in (harness.user(STRANGER, "Mallory"), harness.user(TECH_2, "Jamal")):
        for action in ("way", "done", "cxl", "keep"):
            step = await intruder.press(f"job:{action}:{order_id}", job_message)
            assert step.chats() == {intruder.user_id}
            assert step.texts(intruder.user_id)[0] == "This job is not assigned to you."
        step = await intruder.press(f"job:why:{order_id}:cannot", job_message)
        assert step.texts(intruder.user_id)[0] == "This job is not assigned to you."
    # An order that does not exist, and data that is not a job button at all.
    missing = await technician.press("job:way:999999", job_message)
    assert missing.texts(TECH) == ["This job is not assigned to you."]
    garbage = await technician.press(f"job:fly:{order_id}", job_message)
    assert "no longer applies" in garbage.texts(TECH)[0]
    assert (await stored(bot, reference)).status == "assigned"

    # Done before On the way: told to set out first.
    early = await technician.press(f"job:done:{order_id}", job_message)
    assert early.chats() == {TECH}
    assert "tap “On the way” first" in early.texts(TECH)[0]

    await technician.press(f"job:way:{order_id}", job_message)
    # On the way twice: the second press is stale, the customer hears once.
    again = await technician.press(f"job:way:{order_id}", job_message)
    assert again.chats() == {TECH}
    assert again.texts(TECH) == [
        f"That button no longer applies: job <b>{reference}</b> is on the way now."
    ]
    await technician.press(f"job:done:{order_id}", job_message)
    for action in ("done", "way", "cxl"):
        late = await technician.press(f"job:{action}:{order_id}", job_message)
        assert late.chats() == {TECH}
        assert late.texts(TECH) == [
            f"That button no longer applies: job <b>{reference}</b> is done now."
        ]
    late_reason = await technician.press(f"job:why:{order_id}:other", job_message)
    assert "is done now" in late_reason.texts(TECH)[0]
    assert (await stored(bot, reference)).status == "done"
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_technician_cancel_reoffers_to_the_next_and_tells_the_customer(
    harness: Harness, bot: Bot, lang: str
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678")
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")

    # Cancel asks why; "Keep the job" brings the job back as it was.
    asked = await technician.press(f"job:cxl:{order_id}", job_message)
    assert asked.chats() == {TECH}
    assert asked.seq(TECH) == ["answerCallbackQuery", "editMessageText"]
    assert buttons_of(asked, TECH) == [
        f"job:why:{order_id}:unreachable",
        f"job:why:{order_id}:cannot",
        f"job:why:{order_id}:other",
        f"job:keep:{order_id}",
    ]
    assert "Why can't you do this job?" in asked.texts(TECH)[0]
    kept = await technician.press(f"job:keep:{order_id}", job_message)
    assert buttons_of(kept, TECH) == [f"job:way:{order_id}", f"job:cxl:{order_id}"]
    assert (await stored(bot, reference)).status == "assigned"

    # A reason: the job goes to the next technician, the customer hears why they wait.
    await technician.press(f"job:cxl:{order_id}", job_message)
    gave_back = await technician.press(f"job:why:{order_id}:cannot", job_message)
    assert gave_back.chats() == {TECH, TECH_2, CUSTOMER}
    assert gave_back.seq(TECH) == ["answerCallbackQuery", "editMessageText"]
    edited = gave_back.to(TECH)[0]
    assert "reply_markup" not in edited.params
    assert "You gave this job back" in text_of(edited)
    assert CUSTOMER_NAME not in text_of(edited)  # the contact is not repeated
    assert reference in gave_back.texts(TECH_2)[0]
    assert re.fullmatch(r"job:acc:\d+", buttons_of(gave_back, TECH_2)[0])
    assert gave_back.seq(CUSTOMER) == ["sendMessage"]
    told = gave_back.texts(CUSTOMER)[0]
    assert reference in told
    if lang == "en":
        assert "cannot come" in told and "finding you another one" in told
    else:
        assert "cannot come" not in told
    order = await stored(bot, reference)
    assert (order.status, order.technician_id, order.cancel_reason) == (
        "offered",
        None,
        "technician:cannot",
    )

    # The old buttons are no longer theirs; the next technician takes the job.
    stale = await technician.press(f"job:way:{order_id}", job_message)
    assert stale.texts(TECH) == ["This job is not assigned to you."]
    accept = buttons_of(gave_back, TECH_2)[0]
    taken = await harness.user(TECH_2, "Jamal").press(accept)
    assert TECH_2_NAME in taken.texts(CUSTOMER)[0]
    assert (await stored(bot, reference)).technician_id is not None
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_technician_cancel_with_no_one_left_goes_to_the_operators(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    customer = harness.user(CUSTOMER)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")
    await technician.press(f"job:way:{order_id}", job_message)
    await technician.press(f"job:cxl:{order_id}", job_message)
    gave_back = await technician.press(f"job:why:{order_id}:unreachable", job_message)
    assert gave_back.chats() == {TECH, CUSTOMER, ADMIN_CHAT}
    cannot, team = gave_back.texts(CUSTOMER)
    assert "cannot come" in cannot and "another one" not in cannot
    assert "Our team will call you" in team
    assert "No technician took this job" in gave_back.texts(ADMIN_CHAT)[0]
    order = await stored(bot, reference)
    assert (order.status, order.cancel_reason) == ("unassigned", "technician:unreachable")
    assert_all_ok(harness.api)


# ------------------------------------------------------------------------------- the rating


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_rating_then_comment_are_stored(harness: Harness, bot: Bot, lang: str) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")

    # Not done yet: the stars cannot be given (a forged press).
    early = await customer.press(f"rt:{order_id}:5", 1)
    assert early.chats() == {CUSTOMER}
    await technician.press(f"job:way:{order_id}", job_message)
    await technician.press(f"job:done:{order_id}", job_message)
    question = message_with_button(harness.api, CUSTOMER, f"rt:{order_id}:4")

    # Someone else cannot rate it.
    foreign = await harness.user(STRANGER, "Mallory").press(f"rt:{order_id}:1", question)
    assert foreign.chats() == {STRANGER}
    assert foreign.texts(STRANGER) == ["This job cannot be rated by you."]

    # Four stars: the question shows them (buttons gone), then the comment is asked for.
    rated = await customer.press(f"rt:{order_id}:4", question)
    assert rated.chats() == {CUSTOMER}
    assert rated.seq(CUSTOMER) == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert "★★★★☆" in rated.texts(CUSTOMER)[0]
    assert "reply_markup" not in rated.to(CUSTOMER)[0].params
    assert buttons_of(rated, CUSTOMER) == [f"rt:{order_id}:skip"]
    if lang == "en":
        assert "Anything to add about" in rated.texts(CUSTOMER)[1]

    # Anything but text asks again; the comment is stored as typed (shown escaped).
    for attempt in (customer.sticker, customer.share_location, lambda: customer.say("/book")):
        step = await attempt()
        assert buttons_of(step, CUSTOMER)[-1] == f"rt:{order_id}:skip"
    comment = "Came on time <b>fixed</b> it & cleaned up"
    saved = await customer.say(comment)
    assert saved.seq(CUSTOMER) == ["sendMessage"]
    if lang == "en":
        assert "Your comment is saved" in saved.texts(CUSTOMER)[0]
    order = await stored(bot, reference)
    assert (order.rating, order.rating_comment) == (4, comment)

    # The step is over: a text gets the idle hint; another press is told it was rated.
    idle = await customer.say("hello")
    assert STEP_SIGNATURES["idle"](idle.sends(CUSTOMER)[-1])
    twice = await customer.press(f"rt:{order_id}:1", question)
    assert twice.chats() == {CUSTOMER}
    if lang == "en":
        assert twice.texts(CUSTOMER) == [f"You have already rated <b>{reference}</b>. Thank you!"]
    assert (await stored(bot, reference)).rating == 4
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_rating_comment_can_be_skipped(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")
    await technician.press(f"job:way:{order_id}", job_message)
    await technician.press(f"job:done:{order_id}", job_message)
    await customer.press(f"rt:{order_id}:2")
    prompt = message_with_button(harness.api, CUSTOMER, f"rt:{order_id}:skip")
    skipped = await customer.press(f"rt:{order_id}:skip", prompt)
    assert skipped.seq(CUSTOMER) == ["answerCallbackQuery", "editMessageText"]
    assert skipped.texts(CUSTOMER) == ["Thank you for your rating!"]
    order = await stored(bot, reference)
    assert (order.rating, order.rating_comment) == (2, None)
    idle = await customer.say("hello")
    assert STEP_SIGNATURES["idle"](idle.sends(CUSTOMER)[-1])
    assert_all_ok(harness.api)


async def test_rating_in_the_middle_of_a_booking_keeps_the_booking(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    technician = harness.user(TECH, "Karim")
    reference, order_id = await accepted(harness, customer)
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")
    await technician.press(f"job:way:{order_id}", job_message)
    await technician.press(f"job:done:{order_id}", job_message)

    # A second booking is at its problem question when the stars are pressed.
    await customer.say("/book")
    await customer.press("bk:service:plumbing")
    rated = await customer.press(f"rt:{order_id}:5")
    assert buttons_of(rated, CUSTOMER) == [f"rt:{order_id}:skip"]
    # /myorders is answered aside, then the comment is asked for again.
    aside = await customer.say("/myorders")
    assert reference in aside.texts(CUSTOMER)[0]
    assert buttons_of(aside, CUSTOMER)[-1] == f"rt:{order_id}:skip"
    # A booking button mid-comment is stale: the comment is asked for again.
    stale = await customer.press("bk:problem:skip")
    assert buttons_of(stale, CUSTOMER)[-1] == f"rt:{order_id}:skip"
    # The comment, then the booking asks its question again and carries on.
    saved = await customer.say("Excellent")
    assert STEP_SIGNATURES["problem"](saved.sends(CUSTOMER)[-1])
    area = await customer.say("The bathroom tap too")
    assert STEP_SIGNATURES["area"](area.sends(CUSTOMER)[-1])
    order = await stored(bot, reference)
    assert (order.rating, order.rating_comment) == (5, "Excellent")
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_rating_breaks_a_tie_in_who_is_offered_first(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678")

    async def job_rated(customer: Person, technician: int, stars: int) -> None:
        _, order_id = await accepted(harness, customer, technician)
        worker = harness.user(technician, "Tech")
        await worker.say("/jobs")
        job_message = message_with_button(harness.api, technician, f"job:way:{order_id}")
        await worker.press(f"job:way:{order_id}", job_message)
        await worker.press(f"job:done:{order_id}", job_message)
        await customer.press(f"rt:{order_id}:{stars}")
        await customer.press(f"rt:{order_id}:skip")

    # TECH (registered first) gets the first job and is rated 2; TECH_2, who waited longer,
    # gets the second and is rated 5.
    await job_rated(harness.user(CUSTOMER), TECH, 2)
    await job_rated(harness.user(CUSTOMER_2, "Sumi"), TECH_2, 5)
    # Same load, no base, and (made) the same time since their last offer: a tie that only
    # the rating breaks; without it, the earlier registered TECH would be offered.
    await set_column(
        bot, "UPDATE job_offers SET created_at = :at", at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    _, confirm = await complete_booking(harness.user(CUSTOMER_3, "Rina"))
    assert confirm.to(TECH) == []
    assert len(confirm.sends(TECH_2)) == 1
    assert_all_ok(harness.api)


# --------------------------------------------------------------------- the customer's cancel


@pytest.mark.parametrize(("lang", "tech_lang"), [("en", "en"), ("bn", "bn")])
async def test_customer_cancels_an_assigned_order_and_the_technician_is_told(
    harness: Harness, bot: Bot, lang: str, tech_lang: str
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME, lang=tech_lang)
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    technician = harness.user(TECH, "Karim", tech_lang)
    reference, order_id = await accepted(harness, customer, tech_lang=tech_lang)

    mine = await customer.say("/myorders")
    assert buttons_of(mine, CUSTOMER) == [f"ord:cx:{order_id}"]
    asked = await customer.press(f"ord:cx:{order_id}")
    assert asked.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert buttons_of(asked, CUSTOMER) == [f"ord:cy:{order_id}", f"ord:cn:{order_id}"]
    assert reference in asked.texts(CUSTOMER)[0]

    # No: nothing changes.
    kept = await customer.press(f"ord:cn:{order_id}")
    assert kept.seq(CUSTOMER) == ["answerCallbackQuery", "editMessageText"]
    assert kept.chats() == {CUSTOMER}
    assert (await stored(bot, reference)).status == "assigned"

    # Someone else's Yes is refused.
    foreign = await harness.user(STRANGER, "Mallory").press(f"ord:cy:{order_id}", 1)
    assert foreign.chats() == {STRANGER}
    assert foreign.texts(STRANGER) == ["That order is not yours."]

    # Yes: cancelled with the reason, the technician hears in their language.
    await customer.press(f"ord:cx:{order_id}")
    confirm_id = message_with_button(harness.api, CUSTOMER, f"ord:cy:{order_id}")
    cancelled = await customer.press(f"ord:cy:{order_id}", confirm_id)
    assert cancelled.chats() == {CUSTOMER, TECH}
    assert cancelled.seq(CUSTOMER) == ["answerCallbackQuery", "editMessageText"]
    assert reference in cancelled.texts(CUSTOMER)[0]
    assert cancelled.seq(TECH) == ["sendMessage"]
    told = cancelled.texts(TECH)[0]
    assert reference in told
    if tech_lang == "en":
        assert "the customer cancelled the order" in told
    else:
        assert "cancelled" not in told
    order = await stored(bot, reference)
    assert (order.status, order.cancel_reason) == ("cancelled", "customer")

    # Over: no Cancel button any more, a second Yes is refused, the job buttons are stale.
    after = await customer.say("/myorders")
    assert buttons_of(after, CUSTOMER) == []
    again = await customer.press(f"ord:cy:{order_id}", confirm_id)
    assert again.chats() == {CUSTOMER}
    if lang == "en":
        assert "can no longer be cancelled" in again.texts(CUSTOMER)[0]
    jobs = await technician.say("/jobs")
    assert buttons_of(jobs, TECH) == []
    late = await technician.press(f"job:way:{order_id}", 1)
    assert late.chats() == {TECH}
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_customer_cancel_withdraws_a_pending_offer(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    customer = harness.user(CUSTOMER)
    reference, confirm = await complete_booking(customer)
    accept = buttons_of(confirm, TECH)[0]
    notice_id = message_with_button(harness.api, TECH, accept)
    order_id = (await stored(bot, reference)).id
    await customer.press(f"ord:cx:{order_id}", 1)
    cancelled = await customer.press(f"ord:cy:{order_id}")
    # The offer's notice is marked (buttons removed): the job is off.
    assert cancelled.seq(TECH) == ["editMessageText"]
    edit = cancelled.to(TECH)[0]
    assert edit.params["message_id"] == notice_id
    assert "reply_markup" not in edit.params
    assert "The customer cancelled this job." in text_of(edit)
    late = await harness.user(TECH, "Karim").press(accept, notice_id)
    assert "This job was cancelled." in late.texts(TECH)[0]
    async with bot.runtime.engine.connect() as conn:
        statuses = (await conn.execute(text("SELECT status FROM job_offers"))).scalars().all()
    assert statuses == ["expired"]
    assert_all_ok(harness.api)


# ----------------------------------------------------------------------- the operators' chat


async def test_orders_and_technicians_for_the_operators_only(harness: Harness, bot: Bot) -> None:
    karim = await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name="Jamal <Hossain>", phone="+8801912345678")
    empty = await operator_says(harness, "/orders")
    assert empty.texts(ADMIN_CHAT) == ["No open orders."]

    reference, order_id = await accepted(harness, harness.user(CUSTOMER))
    waiting, _ = await complete_booking(harness.user(CUSTOMER_2, "Sumi"))
    listed = await operator_says(harness, "/orders")
    assert listed.seq(ADMIN_CHAT) == ["sendMessage"]
    shown = listed.texts(ADMIN_CHAT)[0]
    assert len(shown) <= 4096
    assert "Open orders</b> · 2" in shown
    assert reference in shown and waiting in shown
    assert "Assigned</b> (1)" in shown and "Offered: waiting for an answer</b> (1)" in shown
    assert f"{TECH_NAME} #{karim}" in shown
    # Customers appear by reference only.
    for secret in (CUSTOMER_NAME, "Sumi", "Road 5", "Kitchen tap"):
        assert secret not in shown
    assert not has_number(shown, CUSTOMER_PHONE)

    technicians = await operator_says(harness, "/technicians")
    listing = technicians.texts(ADMIN_CHAT)[0]
    assert f"#{karim}</b> · {TECH_NAME} · 018••••5678 · available · approved · open jobs: 1" in (
        listing
    )
    assert "Jamal &lt;Hossain&gt;" in listing and "019••••5678" in listing
    assert "no ratings" in listing
    assert "01812345678" not in listing and "01912345678" not in listing

    # The rating shows once a job is rated.
    technician = harness.user(TECH, "Karim")
    await technician.say("/jobs")
    job_message = message_with_button(harness.api, TECH, f"job:way:{order_id}")
    await technician.press(f"job:way:{order_id}", job_message)
    await technician.press(f"job:done:{order_id}", job_message)
    await harness.user(CUSTOMER).press(f"rt:{order_id}:4")
    rated = (await operator_says(harness, "/technicians")).texts(ADMIN_CHAT)[0]
    assert "open jobs: 0 · ★ 4.0 (1)" in rated

    # Anywhere else these commands do not exist.
    for person in (harness.user(OPERATOR, "Nadia"), harness.user(TECH, "Karim")):
        for command in ("/orders", "/technicians"):
            step = await person.say(command)
            assert step.chats() == {person.user_id}
            assert "I don't know the command" in step.texts(person.user_id)[0]
    helped = await operator_says(harness, "/help")
    assert "/orders" in helped.texts(ADMIN_CHAT)[0]
    assert "/technicians" in helped.texts(ADMIN_CHAT)[0]
    assert_all_ok(harness.api)


async def test_operators_assign_an_unassigned_order_by_hand(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    jamal = await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678")
    customer = harness.user(CUSTOMER)
    reference, confirm = await complete_booking(customer)
    # Both decline: the order goes to the operators with an Assign button per technician.
    first = await harness.user(TECH, "Karim").press(buttons_of(confirm, TECH)[1])
    second = await harness.user(TECH_2, "Jamal").press(buttons_of(first, TECH_2)[1])
    order_id = (await stored(bot, reference)).id
    assign = f"op:as:{order_id}:{jamal}"
    assert assign in buttons_of(second, ADMIN_CHAT)
    escalation = message_with_button(harness.api, ADMIN_CHAT, assign)

    # A press outside the operators' chat is ignored: no answer, nothing changes.
    outside = await customer.press(assign, 1)
    assert outside.chats() == set()
    assert [call.method for call in outside.calls] == ["answerCallbackQuery"]
    assert (await stored(bot, reference)).status == "unassigned"

    # The operator's press: the message says who, the technician gets the job and contact,
    # the customer gets the technician.
    pressed = await operator_presses(harness, assign, escalation)
    assert pressed.chats() == {ADMIN_CHAT, TECH_2, CUSTOMER}
    assert pressed.seq(ADMIN_CHAT) == ["editMessageText"]
    assert f"Assigned to {TECH_2_NAME}." in pressed.texts(ADMIN_CHAT)[0]
    assert "reply_markup" not in pressed.to(ADMIN_CHAT)[0].params
    assert [call.method for call in pressed.to(TECH_2)] == ["sendMessage", "sendMessage"]
    notice, contact = pressed.texts(TECH_2)
    assert "Our team assigned you this job." in notice and reference in notice
    assert CUSTOMER_NAME in contact and has_number(contact, CUSTOMER_PHONE)
    assert TECH_2_NAME in pressed.texts(CUSTOMER)[0]
    order = await stored(bot, reference)
    assert (order.status, order.technician_id) == ("assigned", jamal)

    # The same button again: the order no longer waits; nobody else hears.
    again = await operator_presses(harness, assign, escalation)
    assert again.chats() == {ADMIN_CHAT}
    assert "no longer waits for a technician" in again.texts(ADMIN_CHAT)[0]
    assert (await stored(bot, reference)).technician_id == jamal

    # The job is theirs like any accepted one; erasing the customer removes both messages.
    jobs = await harness.user(TECH_2, "Jamal").say("/jobs")
    assert buttons_of(jobs, TECH_2) == [f"job:way:{order_id}", f"job:cxl:{order_id}"]
    await customer.say("/deleteme")
    erased = await customer.press("dr:delete:yes")
    deleted = {
        call.params["message_id"] for call in erased.to(TECH_2) if call.method == "deleteMessage"
    }
    sent = {call.message_id for call in pressed.to(TECH_2)}
    listing = {call.message_id for call in jobs.sends(TECH_2)}
    assert sent | listing <= deleted
    assert_all_ok(harness.api)


async def test_assign_refuses_a_technician_who_cannot_take_jobs(
    harness: Harness, bot: Bot
) -> None:
    karim = await bot.add_technician(TECH, name=TECH_NAME)
    customer = harness.user(CUSTOMER)
    reference, confirm = await complete_booking(customer)
    await harness.user(TECH, "Karim").press(buttons_of(confirm, TECH)[1])
    order_id = (await stored(bot, reference)).id
    assign = f"op:as:{order_id}:{karim}"
    escalation = message_with_button(harness.api, ADMIN_CHAT, assign)
    for change in ("active = false", "status = 'pending'"):
        await set_column(bot, f"UPDATE technicians SET {change}")
        refused = await operator_presses(harness, assign, escalation)
        assert refused.chats() == {ADMIN_CHAT}
        assert f"Technician #{karim} cannot take jobs now" in refused.texts(ADMIN_CHAT)[0]
        await set_column(bot, "UPDATE technicians SET active = true, status = 'approved'")
    unknown = await operator_presses(harness, f"op:as:{order_id}:999", escalation)
    assert "cannot take jobs now" in unknown.texts(ADMIN_CHAT)[0]
    assert (await stored(bot, reference)).status == "unassigned"
    # After the customer cancels, the button says the order no longer waits.
    await customer.press(f"ord:cx:{order_id}", 1)
    await customer.press(f"ord:cy:{order_id}")
    late = await operator_presses(harness, assign, escalation)
    assert "no longer waits for a technician (cancelled)" in late.texts(ADMIN_CHAT)[0]
    assert_all_ok(harness.api)
