"""/mydata end to end: the JSON download as a file, corrections of saved details (and of open
orders, with the assigned technician told), finished orders untouched, nothing after /deleteme.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.telegram.fake_api import ApiCall, Upload
from storage.crypto import keyring
from storage.models import Customer, Order, OrderStatus
from tests.channels.telegram.test_booking_e2e import (
    ADDRESS,
    CUSTOMER,
    CUSTOMER_E164,
    TECH,
    Harness,
    Person,
    assert_all_ok,
    book_until,
    complete_booking,
    inline_data,
    reply_keys,
    text_of,
)
from tests.conftest import Bot

NEW_PHONE = "01912345678"
NEW_E164 = "+8801912345678"
NEW_ADDRESS = "Flat 5A, House 9, Road 2, Dhanmondi"
STRANGER = 7_777_002


@pytest.fixture
def harness(bot: Bot) -> Harness:
    return Harness(bot)


async def customer_row(bot: Bot) -> Customer:
    async with AsyncSession(bot.runtime.engine, expire_on_commit=False) as db:
        found = (
            await db.exec(
                select(Customer).where(
                    Customer.channel == "telegram", Customer.external_id == str(CUSTOMER)
                )
            )
        ).one()
        return found


async def orders_by_reference(bot: Bot) -> dict[str, Order]:
    async with AsyncSession(bot.runtime.engine, expire_on_commit=False) as db:
        return {order.reference: order for order in (await db.exec(select(Order))).all()}


async def set_status(bot: Bot, reference: str, status: OrderStatus) -> None:
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(
            text("update orders set status = :s where reference = :r"),
            {"s": str(status), "r": reference},
        )


async def accept(technician: Person) -> None:
    [data] = [
        data
        for call in reversed(technician.api.sent_to(technician.user_id))
        for data in inline_data(call)
        if data.startswith("job:acc:")
    ][:1]
    await technician.press(data)


def documents(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.method == "sendDocument"]


async def two_orders_one_assigned(harness: Harness, bot: Bot) -> tuple[Person, Person, str, str]:
    """Rahim books twice; Karim accepts the first, the second waits for a technician."""
    await bot.add_technician(TECH, name="Karim Uddin", phone="+8801812345678")
    customer = harness.user(CUSTOMER, "Rahim", "en")
    technician = harness.user(TECH, "Karim", "en")
    first, _ = await complete_booking(customer)
    await accept(technician)
    second, _ = await complete_booking(customer)
    await set_status(bot, second, OrderStatus.UNASSIGNED)
    return customer, technician, first, second


# --- /mydata ---------------------------------------------------------------------------------


async def test_mydata_shows_orders_consent_and_offers_the_buttons(
    harness: Harness, bot: Bot
) -> None:
    customer, _, first, second = await two_orders_one_assigned(harness, bot)
    step = await customer.say("/mydata")
    [shown] = step.sends(CUSTOMER)
    body = text_of(shown)
    assert "Name: Rahim" in body and "Phone: 01712345678" in body and ADDRESS in body
    assert re.search(rf"{first} · Plumbing · .* · technician assigned", body)
    assert re.search(rf"{second} · Plumbing · .* · our team will call you", body)
    # In words (Babel, Dhaka time), not an ISO stamp: "3 December 2026, 6:30 PM (policy of …".
    assert re.search(
        r"Agreed to the privacy policy: \d{1,2} [A-Z][a-z]+ \d{4},"
        r" \d{1,2}(:\d\d)? [AP]M \(policy of",
        body,
    )
    assert inline_data(shown) == ["dr:fix:name", "dr:fix:phone", "dr:fix:address", "dr:export"]
    assert_all_ok(bot.api)


async def test_a_technician_sees_their_own_record(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, name="Karim Uddin", phone="+8801812345678")
    step = await harness.user(TECH, "Karim", "en").say("/mydata")
    [shown] = step.sends(TECH)
    body = text_of(shown)
    assert "Your technician record" in body and "Karim Uddin" in body
    assert "01812345678" in body and "Services: Plumbing" in body and "Active: yes" in body
    assert inline_data(shown) == ["dr:export"]


# --- the download ----------------------------------------------------------------------------


async def test_the_download_is_a_json_file_of_everything_held(harness: Harness, bot: Bot) -> None:
    customer, _, first, second = await two_orders_one_assigned(harness, bot)
    await customer.say("/mydata")
    step = await customer.press("dr:export")

    assert step.seq(CUSTOMER) == ["answerCallbackQuery", "sendDocument"]
    [call] = documents(step.calls)
    upload = call.params["document"]
    assert isinstance(upload, Upload)
    assert re.fullmatch(r"mistri-data-\d{4}-\d\d-\d\d\.json", upload.filename)
    assert upload.mime_type == "application/json"
    assert call.params["caption"].startswith("Everything we hold about you")
    data = json.loads(upload.content.decode("utf-8"))
    assert data["telegram_user_id"] == CUSTOMER
    assert data["customer"]["name"] == "Rahim"
    assert data["customer"]["phone"] == CUSTOMER_E164
    assert data["customer"]["address"] == ADDRESS
    assert data["customer"]["consent"]["policy_version"]
    assert [o["reference"] for o in data["orders"]] == [second, first]
    assert data["orders"][1]["status"] == "assigned"
    assert data["orders"][1]["problem"].startswith("Kitchen tap <b>leaking</b>")
    assert data["technician"] is None
    # The sent message is a document, as Telegram would answer.
    message = bot.api.message(CUSTOMER, call.message_id or 0)
    assert message is not None and message["document"]["file_name"] == upload.filename
    assert message["document"]["file_size"] == len(upload.content)
    assert_all_ok(bot.api)

    async with bot.runtime.engine.connect() as conn:
        rows = (await conn.execute(text("select kind, actor, subject from audit_events"))).all()
    assert [tuple(row) for row in rows] == [("export", "customer", "customer:1")]


async def test_the_download_keeps_bengali_as_written(harness: Harness, bot: Bot) -> None:
    customer = harness.user(CUSTOMER, "রহিম", "bn")
    await complete_booking(customer)
    await customer.say("/mydata")
    step = await customer.press("dr:export")
    [call] = documents(step.calls)
    assert "রহিম".encode() in call.params["document"].content


async def test_a_technician_can_download_their_record(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, name="Karim Uddin", phone="+8801812345678")
    technician = harness.user(TECH, "Karim", "en")
    await technician.say("/mydata")
    step = await technician.press("dr:export")
    [call] = documents(step.calls)
    data = json.loads(call.params["document"].content)
    assert data["customer"] is None
    assert data["technician"]["phone"] == "+8801812345678"


async def test_after_deleteme_the_download_says_nothing_is_held(
    harness: Harness, bot: Bot
) -> None:
    customer = harness.user(CUSTOMER, "Rahim", "en")
    await complete_booking(customer)
    await customer.say("/mydata")
    mydata_message = bot.api.last_message(CUSTOMER)
    assert mydata_message is not None
    await customer.say("/deleteme")
    await customer.press("dr:delete:yes")

    # The old /mydata message's buttons are authorised from the database, not trusted.
    step = await customer.press("dr:export", mydata_message.message_id)
    assert documents(step.calls) == []
    assert "We hold no personal data about you" in step.texts(CUSTOMER)[0]
    fix = await customer.press("dr:fix:phone", mydata_message.message_id)
    assert "We hold no personal data about you" in fix.texts(CUSTOMER)[0]
    again = await customer.say("hello")
    assert "To book a technician" in again.texts(CUSTOMER)[0]


# --- corrections -----------------------------------------------------------------------------


async def test_a_new_phone_reaches_the_customer_open_orders_and_their_technician(
    harness: Harness, bot: Bot
) -> None:
    customer, _, first, second = await two_orders_one_assigned(harness, bot)
    finished, _ = await complete_booking(customer)
    await set_status(bot, finished, OrderStatus.DONE)
    await customer.say("/mydata")

    ask = await customer.press("dr:fix:phone")
    [prompt] = ask.sends(CUSTOMER)
    assert "Your new mobile number?" in text_of(prompt)
    assert [key.get("request_contact", False) for key in reply_keys(prompt)] == [True, False]

    saved = await customer.say("019-1234-5678")
    said = saved.texts(CUSTOMER)
    assert said[0] == f"✅ Saved: your phone is now {NEW_PHONE}."
    assert said[1] == f"Also changed on your open orders: {', '.join(sorted([first, second]))}."
    assert saved.sends(CUSTOMER)[0].params["reply_markup"] == {"remove_keyboard": True}
    # Only the technician holding the contact is told, with the reference, in their language.
    told = saved.texts(TECH)
    assert told == [f"✏️ {first}: the customer's phone is now {NEW_PHONE}."]

    row = await customer_row(bot)
    assert row.phone == NEW_E164
    assert row.phone_index == keyring().blind_index(NEW_E164)
    stored = await orders_by_reference(bot)
    assert stored[first].phone == NEW_E164 and stored[second].phone == NEW_E164
    assert stored[finished].phone == CUSTOMER_E164  # a finished order keeps what was true
    assert_all_ok(bot.api)

    async with bot.runtime.engine.connect() as conn:
        rows = (await conn.execute(text("select kind, detail from audit_events"))).all()
    assert [tuple(row) for row in rows] == [("correct", "phone")]


async def test_a_pin_replaces_the_address_everywhere_and_the_technician_gets_it(
    harness: Harness, bot: Bot
) -> None:
    customer, _, first, second = await two_orders_one_assigned(harness, bot)
    await customer.say("/mydata")
    await customer.press("dr:fix:address")
    saved = await customer.share_location(23.75, 90.39)
    assert saved.texts(CUSTOMER)[0] == "✅ Saved: your address is now 📍 location pin."
    assert [call.method for call in saved.to(TECH)] == ["sendMessage", "sendLocation"]
    pin = saved.to(TECH)[1].params
    assert (pin["latitude"], pin["longitude"]) == (23.75, 90.39)

    row = await customer_row(bot)
    assert (row.address, row.latitude, row.longitude) == (None, 23.75, 90.39)
    stored = await orders_by_reference(bot)
    for reference in (first, second):
        assert (stored[reference].address, stored[reference].latitude) == (None, 23.75)


async def test_a_new_name_and_address_are_saved(harness: Harness, bot: Bot) -> None:
    customer, _, first, _ = await two_orders_one_assigned(harness, bot)
    await customer.say("/mydata")
    await customer.press("dr:fix:name")
    await customer.say("Rahima <Begum>")
    await customer.say("/mydata")
    await customer.press("dr:fix:address")
    step = await customer.say(NEW_ADDRESS)
    assert step.texts(TECH) == [f"✏️ {first}: the customer's address is now {NEW_ADDRESS}."]

    row = await customer_row(bot)
    assert (row.name, row.address, row.latitude) == ("Rahima <Begum>", NEW_ADDRESS, None)
    assert (await orders_by_reference(bot))[first].name == "Rahima <Begum>"
    shown = (await customer.say("/mydata")).texts(CUSTOMER)[0]
    assert "Name: Rahima &lt;Begum&gt;" in shown and NEW_ADDRESS in shown
    assert_all_ok(bot.api)


async def test_bad_answers_are_asked_again_and_cancel_changes_nothing(
    harness: Harness, bot: Bot
) -> None:
    customer = harness.user(CUSTOMER, "Rahim", "en")
    await complete_booking(customer)
    await customer.say("/mydata")
    await customer.press("dr:fix:phone")
    for attempt in (
        customer.say("12345"),
        customer.sticker(),
        customer.photo(),
        customer.say("x" * 5000),
        customer.press("go:book", 1),
        customer.say("/book"),
        customer.share_contact(NEW_E164, owner=STRANGER),
    ):
        step = await attempt
        sent = step.sends(CUSTOMER)
        assert len(sent) == 2, step.texts(CUSTOMER)
        assert "Your new mobile number?" in text_of(sent[1])
    help_step = await customer.say("/help")
    assert "Your new mobile number?" in help_step.texts(CUSTOMER)[-1]
    cancelled = await customer.say("/cancel")
    assert cancelled.texts(CUSTOMER) == ["Nothing was changed."]
    assert (await customer_row(bot)).phone == CUSTOMER_E164
    idle = await customer.say("hello")
    assert "To book a technician" in idle.texts(CUSTOMER)[0]
    assert_all_ok(bot.api)


async def test_a_correction_mid_booking_keeps_the_booking(harness: Harness, bot: Bot) -> None:
    customer = harness.user(CUSTOMER, "Rahim", "en")
    await complete_booking(customer)
    await book_until(customer, "phone")  # a second booking, standing at the phone question
    await customer.say("/mydata")
    await customer.press("dr:fix:name")
    saved = await customer.say("Rahima Begum")
    said = saved.texts(CUSTOMER)
    assert said[0] == "✅ Saved: your name is now Rahima Begum."
    assert any("Your mobile number?" in line for line in said[1:])

    # The booking goes on from where it was and offers the corrected name.
    await customer.share_contact()
    name_prompt = customer.last_prompt()
    assert reply_keys(name_prompt)[0]["text"] == "Rahima Begum"
    await customer.say("Rahima Begum")
    time_prompt = customer.last_prompt()
    slot = next(data for data in inline_data(time_prompt) if data.startswith("bk:time:2"))
    await customer.press(slot)
    done = await customer.press("bk:summary:confirm")
    assert any("Booking confirmed" in line for line in done.texts(CUSTOMER))


async def test_cancel_mid_booking_gives_the_booking_back(harness: Harness, bot: Bot) -> None:
    customer = harness.user(CUSTOMER, "Rahim", "en")
    await complete_booking(customer)
    await book_until(customer, "address")
    await customer.say("/mydata")
    await customer.press("dr:fix:phone")
    cancelled = await customer.press("dr:fix:address")  # another field: still one correction
    assert "Your new address?" in cancelled.texts(CUSTOMER)[0]
    back = await customer.say("✖ Cancel")
    said = back.texts(CUSTOMER)
    assert said[0] == "Nothing was changed."
    assert any("What is the full address?" in line for line in said[1:])


async def test_someone_without_a_profile_cannot_start_a_correction(
    harness: Harness, bot: Bot
) -> None:
    stranger = harness.user(STRANGER, "Nobody", "en")
    await stranger.say("/start")
    step = await stranger.press("dr:fix:name", 1)
    assert "We hold no personal data about you" in step.texts(STRANGER)[0]
    after = await stranger.say("Some Name")
    assert "To book a technician" in after.texts(STRANGER)[0]
