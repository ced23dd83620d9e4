"""Each part of a notice is a step; what an unknown outcome left is found, edited and erased.

Through the real runtime and the fake Bot API (test_booking_e2e.py's harness): a contact card
whose pin fails is not sent twice; a card or an offer delivered but answered with a timeout
is sent again, and both copies are recorded, so the end of the offer edits both and the
customer's erasure deletes both. After a restart no copy is looked for: the new process does
not know what the old one sent, and a probe must never change a message of the bot.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram import Update

from channels.telegram.channel import TelegramChannel
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from service.config import Settings
from service.runtime import start
from storage.models import JobOffer, JobView, OutboxMessage, OutboxStatus, utcnow
from tests.channels.telegram.test_booking_e2e import (
    CUSTOMER,
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    TECH,
    TECH_NAME,
    Harness,
    complete_booking,
    harness,  # noqa: F401 - the fixture
    has_number,
)
from tests.conftest import TOKEN, Bot


async def retry_now(bot: Bot) -> None:
    """Make every notice waiting for a retry due now, and deliver."""
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)  # type: ignore[arg-type]
            .values(due_at=utcnow())
        )
    await bot.runtime.settle()


def chat_messages(api: FakeBotApi, chat: int) -> list[dict[str, Any]]:
    """Every message the chat holds now (private chats' ids are the bot's own: not dense)."""
    return api.messages(chat)


def contact_cards(api: FakeBotApi) -> list[dict[str, Any]]:
    """The messages in the technician's chat that show the customer's contact (pins too)."""
    return [
        message
        for message in chat_messages(api, TECH)
        if "location" in message
        or (
            CUSTOMER_NAME in message.get("text", "")
            and has_number(message.get("text", ""), CUSTOMER_PHONE)
        )
    ]


def live_offers(api: FakeBotApi) -> list[int]:
    """The messages in the technician's chat that still carry an Accept button."""
    return [
        message["message_id"]
        for message in chat_messages(api, TECH)
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", ())
        for button in row
        if button["callback_data"].startswith("job:acc:")
    ]


async def erase_customer(people: Harness) -> None:
    customer = people.user(CUSTOMER)
    await customer.say("/deleteme")
    await customer.press("dr:delete:yes")
    await people.bot.runtime.settle()


async def accepted(people: Harness, *, pin: bool, fault: Callable[[], None]) -> None:
    """Book, then (after ``fault`` is set) let the technician accept: the card goes out."""
    await people.bot.add_technician(TECH, name=TECH_NAME)
    await complete_booking(people.user(CUSTOMER), pin=pin)
    fault()
    [offer] = live_offers(people.api)
    accept = next(
        button["callback_data"]
        for row in people.api.message(TECH, offer)["reply_markup"]["inline_keyboard"]  # type: ignore[index]
        for button in row
        if button["callback_data"].startswith("job:acc:")
    )
    await people.user(TECH, "Karim").press(accept, offer)


# ------------------------------------------------------------------------ a failed pin


async def test_a_failed_pin_is_retried_alone_and_erasure_leaves_no_card(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    fault = partial(harness.api.fail_next, TECH, 500, "Server Error", method="sendLocation")
    await accepted(harness, pin=True, fault=fault)
    [text] = contact_cards(harness.api)  # the text is in, its pin failed
    async with bot.runtime.engine.connect() as conn:
        kept = (await conn.execute(select(JobOffer.contact_message_id))).scalar()  # type: ignore[call-overload]
    assert kept == str(text["message_id"])  # recorded at once, while the pin waits

    await retry_now(bot)
    cards = contact_cards(harness.api)
    assert len(cards) == 2 and "location" in cards[1]  # one text, one pin: not twice
    texts = [c for c in harness.api.calls if c.method == "sendMessage" and c.status == 200]
    assert (
        sum(CUSTOMER_NAME in c.params["text"] for c in texts if c.params["chat_id"] == TECH) == 1
    )

    await erase_customer(harness)
    assert contact_cards(harness.api) == []


async def test_a_card_whose_pin_waits_is_erased_and_its_pin_never_goes(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    fault = partial(harness.api.fail_next, TECH, 500, "Server Error", method="sendLocation")
    await accepted(harness, pin=True, fault=fault)
    assert len(contact_cards(harness.api)) == 1
    await erase_customer(harness)
    assert contact_cards(harness.api) == []  # the text that went out is deleted
    await retry_now(bot)
    assert contact_cards(harness.api) == []  # and the pin never follows
    assert_all_ok_but_faults(harness.api)


def assert_all_ok_but_faults(api: FakeBotApi) -> None:
    """No call failed but the injected ones (500s and lost answers) and the probes' 400s."""
    failed = [
        (call.method, call.status)
        for call in api.calls
        if call.status not in (200, 0, 500) and call.method != "editMessageText"
    ]
    assert failed == []


# ------------------------------------------------------------- a card delivered, answer lost


async def test_a_card_delivered_but_timed_out_is_found_and_both_copies_are_erased(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    fault = partial(harness.api.time_out_next, TECH, method="sendMessage")  # the card's text
    await accepted(harness, pin=False, fault=fault)
    [first] = contact_cards(harness.api)  # it arrived; the bot does not know its id
    await retry_now(bot)
    cards = contact_cards(harness.api)
    assert len(cards) == 2  # sent again (nothing says it arrived) …
    async with bot.runtime.engine.connect() as conn:
        views = (await conn.execute(select(JobView.message_id))).scalars().all()  # type: ignore[call-overload]
    assert str(first["message_id"]) in views  # … and the first copy was found and recorded
    await erase_customer(harness)
    assert contact_cards(harness.api) == []
    assert_all_ok_but_faults(harness.api)


# ------------------------------------------------------------ an offer sent twice (item 9)


async def offer_sent_twice(people: Harness, bot: Bot) -> tuple[int, int, str]:
    """The offer's notice arrives, its answer is lost, the retry sends it again."""
    await bot.add_technician(TECH, name=TECH_NAME)
    people.api.time_out_next(TECH, method="sendMessage")
    await complete_booking(people.user(CUSTOMER))
    await retry_now(bot)
    first, second = live_offers(people.api)
    async with bot.runtime.engine.connect() as conn:
        recorded = (await conn.execute(select(JobOffer.message_id))).scalar()  # type: ignore[call-overload]
    assert recorded == str(second)
    markup = people.api.message(TECH, first)["reply_markup"]  # type: ignore[index]
    accept = markup["inline_keyboard"][0][0]["callback_data"]
    return first, second, accept


async def test_a_press_on_either_copy_is_judged_by_the_database_and_both_lose_their_buttons(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    first, second, accept = await offer_sent_twice(harness, bot)
    technician = harness.user(TECH, "Karim")
    taken = await technician.press(accept, second)
    assert "accepted this job" in taken.texts(TECH)[0]
    assert live_offers(harness.api) == []  # the copy the bot never heard of was edited too
    assert "accepted this job" in harness.api.message(TECH, first)["text"]  # type: ignore[index]
    late = await technician.press(accept, first)
    assert "You already have this job" in late.texts(TECH)[0]
    assert len(contact_cards(harness.api)) == 1  # one acceptance, one contact

    await erase_customer(harness)
    assert harness.api.message(TECH, first) is None
    assert harness.api.message(TECH, second) is None
    assert contact_cards(harness.api) == []


async def test_both_copies_of_a_lapsed_offer_say_it_passed(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    from tests.service.test_delivery import expire_all_offers

    first, second, _ = await offer_sent_twice(harness, bot)
    await expire_all_offers(bot)
    assert live_offers(harness.api) == []
    for copy in (first, second):
        assert "passed to another technician" in harness.api.message(TECH, copy)["text"]  # type: ignore[index]


async def test_a_press_on_a_copy_before_the_retry_cancels_the_retry(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    harness.api.time_out_next(TECH, method="sendMessage")
    await complete_booking(harness.user(CUSTOMER))
    [copy] = live_offers(harness.api)  # arrived; the bot waits to send it again
    markup = harness.api.message(TECH, copy)["reply_markup"]  # type: ignore[index]
    accept = markup["inline_keyboard"][0][0]["callback_data"]
    await harness.user(TECH, "Karim").press(accept, copy)
    await retry_now(bot)
    assert live_offers(harness.api) == []  # no second copy with live buttons follows
    async with bot.runtime.engine.connect() as conn:
        recorded = (await conn.execute(select(JobOffer.message_id))).scalar()  # type: ignore[call-overload]
    assert recorded == str(copy)
    await erase_customer(harness)
    assert harness.api.message(TECH, copy) is None


# ------------------------------------------------------------- a restart between the attempts


async def test_after_a_restart_the_offer_goes_again_and_no_message_is_probed(
    settings: Settings,
) -> None:
    api = FakeBotApi()
    first = await start(settings, token=TOKEN, request=OfflineRequest(api), rate_limit=False)
    try:
        people = Harness(Bot(api, first))
        await people.bot.add_technician(TECH, name=TECH_NAME)
        api.time_out_next(TECH, method="sendMessage")
        await complete_booking(people.user(CUSTOMER))
        [copy] = live_offers(api)  # arrived; its answer was lost
        # The technician's chat gets another message of the bot above the copy.
        [answer] = (await people.user(TECH, "Karim").say("/help")).sends(TECH)
        assert answer.message_id is not None
        shown = api.message(TECH, answer.message_id)
        async with first.engine.connect() as conn:
            unsure, since = (
                await conn.execute(
                    select(OutboxMessage.unsure, OutboxMessage.unsure_since).where(  # type: ignore[call-overload]
                        OutboxMessage.kind == "offer"
                    )
                )
            ).one()
        assert unsure == 1 and since  # the floor is kept with the row, across the restart
    finally:
        await first.close()

    second = await start(settings, token=TOKEN, request=OfflineRequest(api), rate_limit=False)
    try:
        before = len(api.calls)
        await retry_now(Bot(api, second))
        assert [c.method for c in api.calls[before:] if c.method == "editMessageText"] == []
        assert api.message(TECH, answer.message_id) == shown  # the help is still the help
        left, sent = live_offers(api)
        assert left == copy  # the copy is left as it was (docs/privacy.md)
        async with second.engine.connect() as conn:
            recorded = (await conn.execute(select(JobOffer.message_id))).scalar()  # type: ignore[call-overload]
        assert recorded == str(sent)
    finally:
        await second.close()


# ------------------------------------------------------------- what the channel is shown


async def test_every_update_is_shown_to_the_channel_before_it_is_handled(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Message ids that came in are never probed, and raise the floor (Runtime._saw)."""
    seen: list[int] = []
    monkeypatch.setattr(TelegramChannel, "saw", lambda _, update: seen.append(update.update_id))
    first = bot.api.text_update(CUSTOMER, "/start")
    await bot.send(first)
    second = bot.api.text_update(TECH, "/help")
    bot.runtime.submit(Update.de_json(second, bot.runtime.bot))
    await bot.runtime.scheduler.drain()
    assert seen == [first["update_id"], second["update_id"]]
