"""Whole bookings by a WhatsApp customer through ``serve``, in Bengali and in English.

Signed webhook posts go to ``serve``'s Starlette app (ASGI transport, no socket); the fake
Graph API records the bot's WhatsApp messages and refuses any the Cloud API would (its
limits); the job offer goes to a technician on Telegram, whose fake Bot API records it.
Bengali wording is being translated: Bengali runs assert structure and Bengali script.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from telegram import Update

from app.flood import FloodGuard
from channels.telegram.fake_api import ApiCall
from channels.telegram.inbound import address as telegram_address
from channels.whatsapp.inbound import address as whatsapp_address
from service.config import Settings
from storage import technicians
from storage.models import Order
from tests.channels.whatsapp.harness import (
    Serving,
    body_text,
    choices,
    serving,
    with_whatsapp,
)
from tests.conftest import fresh_database

CUSTOMER = "8801711005678"
TECH = 9_001_001
BENGALI = re.compile("[\u0980-\u09ff]")
REFERENCE = re.compile(r"MS-[0-9A-Z]{4,}")
SERVICES = ["house-shifting", "masonry", "plumbing", "electrical", "ac-servicing", "repairs"]
JSON = dict[str, Any]


@pytest.fixture
async def s(settings: Settings, tmp_path: Path, migrated: Path) -> AsyncIterator[Serving]:
    fresh_database(migrated, tmp_path / "test.db")
    async with serving(with_whatsapp(settings)) as found:
        async with found.served.db.transaction() as tx:
            await technicians.add(
                tx,
                person=telegram_address(TECH),
                name="Karim Uddin",
                phone="+8801812345678",
                services=["plumbing"],
                areas=["all"],
                lang="en",
            )
        yield found


# ------------------------------------------------------------------------------- helpers


def ids(message: JSON) -> list[str]:
    return [data for data, _ in choices(message)]


def kinds(messages: list[JSON]) -> list[str]:
    """Each message's kind: text, button, list, location_request_message, document..."""
    return [
        m["interactive"]["type"] if m["type"] == "interactive" else m["type"] for m in messages
    ]


def offers_to(s: Serving, chat: int) -> list[ApiCall]:
    """The Telegram messages to ``chat`` carrying an Accept button."""
    return [
        call
        for call in s.telegram.sent_to(chat)
        if call.method == "sendMessage"
        and any(
            button["callback_data"].startswith("job:acc:")
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", ())
            for button in row
        )
    ]


async def telegram_press(s: Serving, user: int, data: str) -> None:
    """A Telegram technician presses ``data`` on the newest bot message carrying it."""
    message_id = next(
        call.message_id
        for call in reversed(s.telegram.sent_to(user))
        if any(
            button.get("callback_data") == data
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", ())
            for button in row
        )
    )
    assert message_id is not None
    await telegram_update(s, s.telegram.callback_update(user, data, message_id, "Karim", "en"))


async def telegram_update(s: Serving, update: JSON) -> None:
    """Process one Telegram update through the runtime that ``serve`` runs."""
    runtime = s.served.runtime
    await runtime.process(Update.de_json(update, runtime.bot))
    await runtime.settle()


def telegram_buttons(s: Serving, user: int) -> list[str]:
    return [
        button["callback_data"]
        for call in s.telegram.sent_to(user)
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", ())
        for button in row
        if "callback_data" in button
    ]


async def stored_orders(s: Serving) -> list[tuple[str, str, str]]:
    """(reference, customer channel, customer id) of every order."""
    async with s.served.db.read() as tx:
        rows = await tx.execute(
            text(
                "SELECT o.reference, c.channel, c.external_id FROM orders o"
                " JOIN customers c ON c.id = o.customer_id ORDER BY o.id"
            )
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def book(s: Serving, lang: str, *, pin: bool, typed_phone: str | None) -> list[JSON]:
    """Book plumbing in Mirpur (page 1) or Farmgate (page 2); return the confirmation."""
    greeting = "আসসালামু আলাইকুম" if lang == "bn" else "hello"
    welcome = await s.say(CUSTOMER, greeting)
    # No language code comes with WhatsApp: Bengali first, English one tap away.
    assert len(welcome) == 1 and BENGALI.search(body_text(welcome[0]))
    assert set(ids(welcome[0])) == {"go:book", "lang:en"}
    if lang == "en":
        switched = await s.choose(CUSTOMER, "lang:en")
        assert "English" in body_text(switched[0])
    consent = await s.choose(CUSTOMER, "go:book")
    assert ids(consent[-1]) == ["bk:consent:yes", "bk:consent:policy", "bk:consent:no"]
    services = await s.choose(CUSTOMER, "bk:consent:yes")
    # Six services do not fit three reply buttons: one list message with every service.
    assert kinds(services) == ["list"]
    assert ids(services[0]) == [f"bk:service:{slug}" for slug in SERVICES]
    problem = await s.choose(CUSTOMER, "bk:service:plumbing")
    assert "bk:problem:skip" in ids(problem[-1])
    areas = await s.say(CUSTOMER, "কলের পানি পড়ছে" if lang == "bn" else "Kitchen tap leaking")
    # Thirty areas in pages of eight, each page a list of at most ten rows.
    assert kinds(areas) == ["list", "list"]
    first_page = ids(areas[0]) + ids(areas[1])
    assert "bk:area:mirpur" in first_page and "bk:area:page:1" in first_page
    assert all(len(ids(page)) <= 10 for page in areas)
    if lang == "en":
        second = await s.choose(CUSTOMER, "bk:area:page:1")
        assert "bk:area:farmgate" in ids(second[0]) + ids(second[1])
        address = await s.choose(CUSTOMER, "bk:area:farmgate")
    else:
        address = await s.choose(CUSTOMER, "bk:area:mirpur")
    # The address: typed, or a pin through WhatsApp's location request message.
    assert kinds(address)[-1] == "location_request_message"
    if pin:
        phone = await s.pin(CUSTOMER, 23.7561, 90.3872)
    else:
        phone = await s.say(CUSTOMER, "বাসা ১২, রোড ৫, ব্লক সি, মিরপুর ১০, মসজিদের পাশে")
    # The sender's WhatsApp number, masked, in the person's digits, as one tap.
    masked = "017••••5678" if lang == "en" else "০১৭••••৫৬৭৮"
    own = [(data, title) for data, title in choices(phone[-1]) if data == "wa|contact"]
    assert len(own) == 1 and masked in own[0][1], choices(phone[-1])
    if typed_phone is None:
        name = await s.choose(CUSTOMER, "wa|contact")
    else:
        name = await s.say(CUSTOMER, typed_phone)
    # The WhatsApp profile name is offered as the name.
    assert "wa|key|Rahim" in ids(name[-1])
    times = await s.choose(CUSTOMER, "wa|key|Rahim")
    slot = next(data for m in times for data in ids(m) if data.startswith("bk:time:2"))
    summary = await s.choose(CUSTOMER, slot)
    assert ids(summary[-1])[0] == "bk:summary:confirm"
    return await s.choose(CUSTOMER, "bk:summary:confirm")


# ------------------------------------------------------------------------------- bookings


async def test_a_whole_booking_in_bengali_reaches_a_telegram_technician(s: Serving) -> None:
    confirmed = await book(s, "bn", pin=False, typed_phone="০১৮১২৩৪৫৬৭৯")
    reference = REFERENCE.search(" ".join(body_text(m) for m in confirmed))
    assert reference is not None and BENGALI.search(body_text(confirmed[0]))
    assert await stored_orders(s) == [(reference.group(), "whatsapp", CUSTOMER)]
    # The job offer crossed channels: the Telegram technician has it, without the contact.
    (offer,) = offers_to(s, TECH)
    assert reference.group() in offer.params["text"]
    assert "01812345679" not in offer.params["text"]
    async with s.served.db.read() as tx:
        found = await tx.execute(select(Order.phone))
        assert found.scalar_one() == "+8801812345679"  # the typed number, validated


async def test_a_whole_booking_in_english_with_a_pin_and_the_one_tap_number(
    s: Serving,
) -> None:
    confirmed = await book(s, "en", pin=True, typed_phone=None)
    reference = REFERENCE.search(" ".join(body_text(m) for m in confirmed))
    assert reference is not None and "MS-" in body_text(confirmed[0])
    assert await stored_orders(s) == [(reference.group(), "whatsapp", CUSTOMER)]
    (offer,) = offers_to(s, TECH)
    assert reference.group() in offer.params["text"]
    async with s.served.db.read() as tx:
        found = await tx.execute(select(Order.phone, Order.latitude))
        phone, latitude = found.one()
    assert phone == "+" + CUSTOMER  # the sender's own number, from one tap
    assert latitude == pytest.approx(23.7561)


async def test_another_number_goes_through_the_same_validation(s: Serving) -> None:
    await s.say(CUSTOMER, "hello")
    for data in ("go:book", "bk:consent:yes", "bk:service:plumbing", "bk:problem:skip"):
        await s.choose(CUSTOMER, data)
    await s.choose(CUSTOMER, "bk:area:mirpur")
    await s.say(CUSTOMER, "House 12, Road 5, Block C, Mirpur 10")
    refused = await s.say(CUSTOMER, "12345")
    # Refused with the question again: the one-tap number still offered.
    assert "wa|contact" in ids(refused[-1])
    assert not any("wa|key|Rahim" in ids(m) for m in refused)


# ------------------------------------------------------------------------------- commands


async def test_help_typed_as_a_word_in_either_language(s: Serving) -> None:
    for word in ("help", "সাহায্য", "HELP"):
        answer = await s.say(CUSTOMER, word)
        assert any("/book" in body_text(m) and "/deleteme" in body_text(m) for m in answer)


async def test_myorders_mydata_export_and_privacy_after_a_booking(s: Serving) -> None:
    confirmed = await book(s, "en", pin=False, typed_phone="01812345679")
    reference = REFERENCE.search(" ".join(body_text(m) for m in confirmed))
    assert reference is not None
    mine = await s.say(CUSTOMER, "/myorders")
    assert reference.group() in " ".join(body_text(m) for m in mine)
    policy = await s.say(CUSTOMER, "/privacy")
    assert len(policy) >= 2 and all(m["type"] in ("text", "interactive") for m in policy)
    held = await s.say(CUSTOMER, "/mydata")
    assert "01812345679" in body_text(held[0])
    export = next(data for data in ids(held[-1]) if data.endswith("export"))
    uploads_before = [call for call in s.graph.calls if call.path == "media"]
    document = await s.choose(CUSTOMER, export)
    uploads = [call for call in s.graph.calls if call.path == "media"]
    # The export is uploaded, then sent as a document message naming the upload.
    assert len(uploads) == len(uploads_before) + 1
    assert kinds(document) == ["document"]
    filename = document[0]["document"]["filename"]
    assert filename.startswith("mistri-data-") and filename.endswith(".json")
    # The fake keeps the multipart upload as sent: the file is the part named after it.
    _, raw = s.graph.media(document[0]["document"]["id"])
    part = raw.split(f'filename="{filename}"'.encode(), 1)[1].split(b"\r\n\r\n", 1)[1]
    exported, _ = json.JSONDecoder().raw_decode(part.decode())
    assert exported["customer"]["phone"] == "+8801812345679"
    assert [o["reference"] for o in exported["orders"]] == [reference.group()]


async def test_deleteme_says_whatsapp_messages_cannot_be_taken_back_then_erases(
    s: Serving,
) -> None:
    await book(s, "en", pin=False, typed_phone="01812345679")
    asked = await s.say(CUSTOMER, "/deleteme")
    said = body_text(asked[-1])
    assert "WhatsApp does not let a business delete" in said
    yes = next(data for data in ids(asked[-1]) if "del" in data and "keep" not in data)
    done = await s.choose(CUSTOMER, yes)
    assert any("erased" in body_text(m) for m in done)
    async with s.served.db.read() as tx:
        found = await tx.execute(text("SELECT phone, customer_id FROM orders"))
        assert found.one() == (None, None)


# ---------------------------------------------------------------------- no edits, no toasts


async def test_a_tap_on_an_old_list_is_judged_by_the_database(s: Serving) -> None:
    await s.say(CUSTOMER, "hello")
    await s.choose(CUSTOMER, "go:book")
    await s.choose(CUSTOMER, "bk:consent:yes")
    await s.choose(CUSTOMER, "bk:service:plumbing")
    await s.say(CUSTOMER, "Kitchen tap leaking")
    # The service list is still in the chat (nothing is edited away on WhatsApp): tap it.
    again = await s.choose(CUSTOMER, "bk:service:masonry")
    assert again, "an old tap is answered"
    # Still at the area step, with plumbing kept.
    assert any("bk:area:mirpur" in ids(m) for m in again)
    session = await s.served.runtime.core.sessions.load(whatsapp_address(CUSTOMER))
    assert (session.step, session.data["service"]) == ("area", "plumbing")


async def test_an_answer_that_is_only_a_toast_comes_as_a_message(s: Serving) -> None:
    await s.say(CUSTOMER, "hello")
    await s.choose(CUSTOMER, "lang:en")
    # A "Back" under a handoff message that ended long ago: Telegram would flash a toast.
    body = s.hooks.button(CUSTOMER, "hd:back", "Back", "wamid.fake1")
    answer = await s.send(CUSTOMER, body)
    assert [m["type"] for m in answer] == ["text"]
    assert body_text(answer[0]) == "That button belongs to an earlier message."


async def test_a_flood_of_taps_is_told_in_the_chat(s: Serving) -> None:
    await s.say(CUSTOMER, "hello")
    s.served.runtime.core.flood = FloodGuard(burst=1, rate=0.0001)
    await s.choose(CUSTOMER, "go:book")  # the burst
    told = await s.choose(CUSTOMER, "bk:consent:yes")
    assert len(told) == 1 and told[0]["type"] == "text"
    assert await s.choose(CUSTOMER, "bk:consent:yes") == []  # then silence


# ------------------------------------------------------------------------------- rating


async def test_a_rating_after_the_telegram_technician_is_done(s: Serving) -> None:
    await book(s, "en", pin=False, typed_phone="01812345679")
    accept = next(d for d in telegram_buttons(s, TECH) if d.startswith("job:acc:"))
    await telegram_press(s, TECH, accept)
    await telegram_update(s, s.telegram.text_update(TECH, "/jobs", "Karim", "en"))
    on_the_way = next(d for d in telegram_buttons(s, TECH) if d.startswith("job:way:"))
    await telegram_press(s, TECH, on_the_way)
    done = next(d for d in telegram_buttons(s, TECH) if d.startswith("job:done:"))
    await telegram_press(s, TECH, done)
    asked = s.new(CUSTOMER)
    stars = [data for m in asked for data in ids(m) if data.startswith("rt:")]
    assert stars, [body_text(m) for m in asked]
    thanks = await s.choose(CUSTOMER, stars[4] if len(stars) > 4 else stars[0])
    assert thanks
    async with s.served.db.read() as tx:
        found = await tx.execute(text("SELECT rating FROM orders"))
        assert found.scalar_one() is not None
