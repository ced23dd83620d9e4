"""Technicians' self-registration, the operators' decision, and /available and /away.

Everything runs through the real runtime and the recording offline Bot API; the
operators' chat is a group (``ADMIN_CHAT``), as in production.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from channels.telegram.inbound import address
from conversations import registration
from conversations.i18n import translator
from storage import technicians
from tests.channels.telegram.test_booking_e2e import (
    ADMIN_CHAT,
    CUSTOMER,
    PIN,
    Harness,
    Person,
    Step,
    assert_all_ok,
    complete_booking,
    has_number,
    inline_data,
    message_with_button,
    reply_keys,
    text_of,
)
from tests.conftest import Bot

APPLICANT = 9_100_001
APPLICANT_2 = 9_100_002
OPERATOR = 6_000_001
APPLICANT_NAME = "Sohel Rana"
APPLICANT_PHONE = "01812345678"
APPLICANT_E164 = "+8801812345678"


@pytest.fixture
def harness(bot: Bot) -> Harness:
    return Harness(bot)


def _(lang: str, message: str) -> str:
    return translator(lang)._(message)


async def operator_presses(
    harness: Harness,
    data: str,
    user: int = OPERATOR,
    chat: int = ADMIN_CHAT,
    message_id: int | None = None,
) -> Step:
    """Press ``data`` in the operators' chat (on ``message_id``, or the newest offering it)."""
    if message_id is None:
        message_id = message_with_button(harness.api, ADMIN_CHAT, data)
    return await harness._run(
        harness.api.group_callback_update(
            chat, user, data, message_id, first_name="Nadia", language_code="en"
        )
    )


async def register(
    person: Person,
    *,
    services: tuple[str, ...] = ("plumbing",),
    areas: tuple[str, ...] = ("mirpur",),
    pin: bool = False,
    deep_link: bool = False,
) -> dict[str, Step]:
    """Play the whole registration; return each step's calls keyed by the step answered."""
    steps: dict[str, Step] = {}
    steps["start"] = await person.say("/start tech" if deep_link else "/register")
    steps["name"] = await person.say(person.first_name)
    steps["phone"] = await person.share_contact(APPLICANT_E164)
    for slug in services:
        steps[f"service:{slug}"] = await person.press(f"rg:services:t:{slug}")
    steps["services"] = await person.press("rg:services:done")
    for slug in areas:
        if slug == "all":
            steps["area:all"] = await person.press("rg:areas:all")
        else:
            steps[f"area:{slug}"] = await person.press(f"rg:areas:t:{slug}")
    steps["areas"] = await person.press("rg:areas:done")
    if pin:
        steps["location"] = await person.share_location()
    else:
        steps["location"] = await person.say(_(person.lang, "Skip ▶"))
    steps["summary"] = await person.press("rg:summary:submit")
    return steps


async def status_of(bot: Bot, telegram_id: int) -> tuple[str, bool] | None:
    async with bot.runtime.db.read() as tx:
        found = await technicians.find(tx, person=address(telegram_id))
    return None if found is None else (found.status, found.available)


def application_buttons(step: Step) -> list[str]:
    return [d for call in step.sends(ADMIN_CHAT) for d in inline_data(call)]


# ------------------------------------------------------------------------ registration


@pytest.mark.parametrize(("lang", "deep_link", "pin"), [("en", False, True), ("bn", True, False)])
async def test_registration_reaches_the_operators_and_approval_brings_offers(
    harness: Harness, bot: Bot, lang: str, deep_link: bool, pin: bool
) -> None:
    applicant = harness.user(APPLICANT, APPLICANT_NAME, lang)
    steps = await register(applicant, pin=pin, deep_link=deep_link)

    # The first question offers the Telegram first name as a one-tap answer.
    name_prompt = steps["start"].sends(APPLICANT)[-1]
    assert [key["text"] for key in reply_keys(name_prompt)] == [APPLICANT_NAME]
    # The phone step has the contact-share key; services and areas are inline, toggled in place.
    phone_keys = reply_keys(steps["name"].sends(APPLICANT)[-1])
    assert phone_keys[0].get("request_contact") is True
    toggled = steps["service:plumbing"].to(APPLICANT)
    assert [call.method for call in toggled] == ["editMessageText"]
    assert "rg:services:t:plumbing" in inline_data(toggled[0])
    assert any(
        button["text"].startswith("✓ ")
        for row in toggled[0].params["reply_markup"]["inline_keyboard"]
        for button in row
        if button["callback_data"] == "rg:services:t:plumbing"
    )
    location_prompt = steps["areas"].sends(APPLICANT)[-1]
    assert any(key.get("request_location") for key in reply_keys(location_prompt))

    # Submitted: pending, the applicant told, the operators' chat has it with two buttons.
    assert await status_of(bot, APPLICANT) == ("pending", True)
    submit = steps["summary"]
    assert len(submit.sends(APPLICANT)) == 1
    if lang == "en":
        assert "Application sent." in text_of(submit.sends(APPLICANT)[0])
    technician_id = int(await _technician_id(bot, APPLICANT))
    assert application_buttons(submit) == [f"op:ok:{technician_id}", f"op:no:{technician_id}"]
    shown = text_of(submit.sends(ADMIN_CHAT)[0])
    assert APPLICANT_NAME in shown and has_number(shown, APPLICANT_PHONE)
    assert str(APPLICANT) not in shown  # no Telegram id in the group
    assert str(PIN[0]) not in shown  # the base pin is not shown to the operators

    # Pending: no offers yet.
    customer = harness.user(CUSTOMER)
    _, confirm = await complete_booking(customer)
    assert confirm.to(APPLICANT) == []

    # Approved: the applicant is told, the operators' message shows who decided.
    approve = await operator_presses(harness, f"op:ok:{technician_id}")
    assert await status_of(bot, APPLICANT) == ("approved", True)
    edited = [call for call in approve.to(ADMIN_CHAT) if call.method == "editMessageText"]
    assert len(edited) == 1 and "Approved by Nadia." in text_of(edited[0])
    assert inline_data(edited[0]) == []
    told = approve.sends(APPLICANT)
    assert len(told) == 1
    assert text_of(told[0]) == registration.approved(lang).text

    # Now they get offers.
    _, confirm = await complete_booking(harness.user(CUSTOMER + 1))
    offered = [d for call in confirm.sends(APPLICANT) for d in inline_data(call)]
    assert any(d.startswith("job:acc:") for d in offered)
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def _technician_id(bot: Bot, telegram_id: int) -> int:
    async with bot.runtime.db.read() as tx:
        found = await technicians.find(tx, person=address(telegram_id))
    assert found is not None
    return found.id or 0


async def test_the_application_is_stored_with_encrypted_details(
    harness: Harness, bot: Bot
) -> None:
    applicant = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await register(applicant, services=("plumbing", "electrical"), areas=("all",), pin=True)
    async with bot.runtime.db.read() as tx:
        found = await technicians.find(tx, person=address(APPLICANT))
        raw = (
            await tx.conn.execute(
                text(
                    "SELECT name, phone, base_latitude FROM technicians"
                    " WHERE channel = 'telegram' AND external_id = :t"
                ),
                {"t": str(APPLICANT)},
            )
        ).one()
    assert found is not None
    assert (found.name, found.phone) == (APPLICANT_NAME, APPLICANT_E164)
    assert found.services == "plumbing,electrical" and found.areas == "all"
    assert (found.base_latitude, found.base_longitude) == PIN
    assert found.lang == "en" and found.status == "pending"
    for value in raw:
        assert isinstance(value, bytes)  # ciphertext, not the plain value
    assert APPLICANT_NAME.encode() not in raw[0]


async def test_rejection_tells_the_applicant_who_may_apply_again(
    harness: Harness, bot: Bot
) -> None:
    applicant = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await register(applicant)
    technician_id = await _technician_id(bot, APPLICANT)
    application_id = message_with_button(harness.api, ADMIN_CHAT, f"op:no:{technician_id}")
    reject = await operator_presses(harness, f"op:no:{technician_id}")
    assert await status_of(bot, APPLICANT) == ("rejected", True)
    edited = [call for call in reject.to(ADMIN_CHAT) if call.method == "editMessageText"]
    assert "Rejected by Nadia." in text_of(edited[0])
    assert "was not approved" in text_of(reject.sends(APPLICANT)[0])

    # A rejected technician gets no offers.
    _, confirm = await complete_booking(harness.user(CUSTOMER))
    assert confirm.to(APPLICANT) == []

    # A second press on the old message changes nothing.
    again = await operator_presses(harness, f"op:ok:{technician_id}", message_id=application_id)
    assert await status_of(bot, APPLICANT) == ("rejected", True)
    assert "already rejected" in " ".join(again.texts(ADMIN_CHAT))
    assert again.to(APPLICANT) == []

    # They may apply again: the same row, pending once more, a new application for operators.
    steps = await register(applicant, services=("masonry",))
    assert await _technician_id(bot, APPLICANT) == technician_id
    assert await status_of(bot, APPLICANT) == ("pending", True)
    assert application_buttons(steps["summary"]) == [
        f"op:ok:{technician_id}",
        f"op:no:{technician_id}",
    ]
    assert_all_ok(harness.api)


async def test_only_the_operators_chat_can_approve(harness: Harness, bot: Bot) -> None:
    applicant = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await register(applicant)
    technician_id = await _technician_id(bot, APPLICANT)
    data = f"op:ok:{technician_id}"

    # The applicant forging the button in their own chat.
    forged = await applicant.press(data, 1)
    assert forged.to(ADMIN_CHAT) == []
    assert await status_of(bot, APPLICANT) == ("pending", True)
    # A stranger in another group.
    elsewhere = await harness._run(
        harness.api.group_callback_update(-100777, OPERATOR, data, 1, first_name="Mallory")
    )
    assert elsewhere.to(ADMIN_CHAT) == [] and elsewhere.to(APPLICANT) == []
    assert await status_of(bot, APPLICANT) == ("pending", True)
    # An unknown application in the right chat.
    missing = await harness._run(
        harness.api.group_callback_update(
            ADMIN_CHAT, OPERATOR, "op:ok:999999", 1, first_name="Nadia", language_code="en"
        )
    )
    assert "no longer exists" in " ".join(missing.texts(ADMIN_CHAT))
    assert await status_of(bot, APPLICANT) == ("pending", True)
    harness.assert_every_press_answered()


async def test_a_second_decision_on_the_same_application_changes_nothing(
    harness: Harness, bot: Bot
) -> None:
    harness.api.administrators[ADMIN_CHAT] = [OPERATOR, OPERATOR + 1]  # two operators
    applicant = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await register(applicant)
    technician_id = await _technician_id(bot, APPLICANT)
    application_id = message_with_button(harness.api, ADMIN_CHAT, f"op:ok:{technician_id}")
    first = await operator_presses(harness, f"op:ok:{technician_id}")
    second = await operator_presses(
        harness, f"op:no:{technician_id}", user=OPERATOR + 1, message_id=application_id
    )
    assert await status_of(bot, APPLICANT) == ("approved", True)
    assert len(first.sends(APPLICANT)) == 1
    assert second.to(APPLICANT) == []
    assert "already approved" in " ".join(second.texts(ADMIN_CHAT))


async def test_registered_people_are_told_where_they_stand(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(APPLICANT_2)
    approved = harness.user(APPLICANT_2, "Karim", "en")
    step = await approved.say("/register")
    assert "already registered" in " ".join(step.texts(APPLICANT_2))
    link = await approved.say("/start tech")
    assert "already registered" in " ".join(link.texts(APPLICANT_2))

    applicant = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await register(applicant)
    again = await applicant.say("/register")
    assert "being checked" in " ".join(again.texts(APPLICANT))
    # Pending: /available and /away do not apply yet.
    away = await applicant.say("/away")
    assert "being checked" in " ".join(away.texts(APPLICANT))
    assert await status_of(bot, APPLICANT) == ("pending", True)


async def test_plain_start_still_greets_customers(harness: Harness) -> None:
    person = harness.user(APPLICANT, APPLICANT_NAME, "en")
    step = await person.say("/start")
    assert inline_data(step.sends(APPLICANT)[0]) == ["go:book", "lang:bn"]


# ------------------------------------------------------------------ in the flow, end to end


async def test_back_cancel_and_unexpected_input_during_registration(
    harness: Harness, bot: Bot
) -> None:
    person = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await person.say("/register")
    sticker = await person.sticker()
    assert "a sticker" in sticker.texts(APPLICANT)[0]
    await person.say(APPLICANT_NAME)
    bad = await person.say("12345")
    assert "Bangladeshi mobile number" in bad.texts(APPLICANT)[0]
    other = await person.share_contact(APPLICANT_E164, owner=CUSTOMER)
    assert "your own number" in other.texts(APPLICANT)[0]
    await person.say(APPLICANT_PHONE)
    done = await person.press("rg:services:done")
    assert "at least one service" in done.texts(APPLICANT)[0]
    # A button of the booking, mid-registration: stale, the step is asked again.
    stale = await person.press("go:book", 1)
    assert "earlier message" in stale.texts(APPLICANT)[0]
    unknown = await person.say("/frobnicate")
    assert "/frobnicate" in unknown.texts(APPLICANT)[0]
    book = await person.say("/book")
    assert "finish your registration" in book.texts(APPLICANT)[0]
    photo = await person.photo()
    assert "a photo" in photo.texts(APPLICANT)[0]
    long_text = await person.say("x" * 5000)
    assert "buttons" in long_text.texts(APPLICANT)[0]
    # /help is an aside: answered, then the step again.
    helped = await person.say("/help")
    assert "rg:services:done" in [d for call in helped.sends(APPLICANT) for d in inline_data(call)]
    back = await person.press("rg:services:back")
    assert any(key.get("request_contact") for key in reply_keys(back.sends(APPLICANT)[-1]))
    cancelled = await person.say("/cancel")
    assert "Registration cancelled" in cancelled.texts(APPLICANT)[0]
    assert await status_of(bot, APPLICANT) is None
    after = await person.press("rg:services:done", 1)
    assert "no longer applies" in after.texts(APPLICANT)[0]
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_register_mid_booking_keeps_the_booking(harness: Harness) -> None:
    person = harness.user(APPLICANT, APPLICANT_NAME, "en")
    await person.say("/book")
    step = await person.say("/register")
    texts = step.texts(APPLICANT)
    assert "booking in progress" in texts[0]
    assert "bk:consent:yes" in [d for call in step.sends(APPLICANT) for d in inline_data(call)]


# ------------------------------------------------------------------- /available and /away


async def test_away_and_available_change_matching(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(APPLICANT_2, services=("plumbing",), areas=("all",))
    tech = harness.user(APPLICANT_2, "Karim", "en")

    away = await tech.say("/away")
    assert "You are away" in away.texts(APPLICANT_2)[0]
    assert inline_data(away.sends(APPLICANT_2)[0]) == ["av:on"]
    assert await status_of(bot, APPLICANT_2) == ("approved", False)
    _, confirm = await complete_booking(harness.user(CUSTOMER))
    assert confirm.to(APPLICANT_2) == []

    # The button under the answer switches back, editing that message in place.
    back = await tech.press("av:on")
    edited = [call for call in back.to(APPLICANT_2) if call.method == "editMessageText"]
    assert len(edited) == 1 and "You are available" in text_of(edited[0])
    assert inline_data(edited[0]) == ["av:off"]
    assert await status_of(bot, APPLICANT_2) == ("approved", True)

    available = await tech.say("/available")
    assert "You are available" in available.texts(APPLICANT_2)[0]
    _, confirm = await complete_booking(harness.user(CUSTOMER + 1))
    assert any(
        d.startswith("job:acc:") for call in confirm.sends(APPLICANT_2) for d in inline_data(call)
    )
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


@pytest.mark.parametrize("command", ["/available", "/away"])
async def test_availability_is_only_for_technicians(harness: Harness, command: str) -> None:
    customer = harness.user(CUSTOMER, "Rahim", "en")
    step = await customer.say(command)
    assert "for registered technicians" in step.texts(CUSTOMER)[0]
    pressed = await customer.press("av:off", 1)
    assert "for registered technicians" in pressed.texts(CUSTOMER)[0]
    bengali = harness.user(CUSTOMER + 5, "Rahim", "bn")
    answer = await bengali.say(command)
    assert answer.texts(CUSTOMER + 5)[0] == _(
        "bn",
        "/available and /away are for registered technicians. To join as one, send /register.",
    )


async def test_an_application_not_yet_sent_goes_with_the_applicant(
    harness: Harness, bot: Bot
) -> None:
    # The operators' chat cannot be reached for a moment: the application waits in the outbox.
    harness.api.fail_next(ADMIN_CHAT, 502, "Bad Gateway")
    applicant = harness.user(APPLICANT, APPLICANT_NAME.split(maxsplit=1)[0], lang="en")
    await register(applicant)
    assert await status_of(bot, APPLICANT) == (technicians.PENDING, True)
    await applicant.say("/deleteme")
    mark = len(harness.api.calls)
    await applicant.press("tdel:yes")
    async with bot.runtime.engine.begin() as conn:  # the retry comes due
        await conn.execute(text("UPDATE outbox SET due_at = '2000-01-01'"))
    await bot.runtime.settle()
    assert harness.api.calls[mark:]  # the applicant was answered, the operators told
    for call in harness.api.calls[mark:]:
        assert APPLICANT_PHONE[1:] not in str(call.params)
        assert APPLICANT_NAME.split(maxsplit=1)[0] not in str(call.params)
    async with bot.runtime.engine.connect() as conn:
        left = (
            await conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
        ).scalar()
    assert left == 0


@pytest.mark.parametrize("refused", [False, True])
async def test_the_operators_copy_of_an_application_goes_with_the_technician(
    harness: Harness, bot: Bot, refused: bool
) -> None:
    applicant = harness.user(APPLICANT, APPLICANT_NAME.split(maxsplit=1)[0], lang="en")
    steps = await register(applicant)
    [application] = [call.message_id for call in steps["summary"].sends(ADMIN_CHAT)]
    await operator_presses(harness, application_buttons(steps["summary"])[0])  # approve
    shown = harness.api.message(ADMIN_CHAT, application)
    assert shown is not None and has_number(shown["text"], APPLICANT_PHONE)
    if refused:
        harness.api.delete_window = 0  # as if it were over 48 hours old
    await applicant.say("/deleteme")
    gone = await applicant.press("tdel:yes")

    deleted = [
        (call.params["message_id"], call.status)
        for call in gone.to(ADMIN_CHAT)
        if call.method == "deleteMessage"
    ]
    assert deleted == [(application, 400 if refused else 200)]
    shown = harness.api.message(ADMIN_CHAT, application)
    if refused:
        assert shown is not None
        assert "the applicant erased their data" in shown["text"]
        assert "reply_markup" not in shown
        assert APPLICANT_NAME.split(maxsplit=1)[0] not in shown["text"]
        assert not has_number(shown["text"], APPLICANT_PHONE)
    else:
        assert shown is None
