"""Delivery guarantees: silence, blocked chats, 429s, network errors and 400s on job offers."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from app import offers
from channels.telegram.fake_api import ApiCall
from storage.models import JobOffer, OfferStatus, OutboxMessage, OutboxStatus, utcnow
from tests.channels.telegram.test_booking_e2e import (
    ADDRESS,
    ADMIN_CHAT,
    CUSTOMER,
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    TECH,
    Harness,
    complete_booking,
    harness,  # noqa: F401 - the fixture
    has_number,
    inline_data,
    message_with_button,
    text_of,
)
from tests.conftest import Bot

TECH_2 = 9_001_002


def offers_to(api_calls: list[ApiCall], chat: int) -> list[ApiCall]:
    return [
        call
        for call in api_calls
        if call.status == 200
        and call.method == "sendMessage"
        and call.params.get("chat_id") == chat
        and any(d.startswith("job:acc:") for d in inline_data(call))
    ]


def held_contact(api_calls: list[ApiCall], chat: int) -> bool:
    """Whether any call that reached ``chat`` carried the customer's contact."""
    for call in api_calls:
        if call.params.get("chat_id") != chat or call.status != 200:
            continue
        text = text_of(call) if "text" in call.params else ""
        if CUSTOMER_NAME in text or ADDRESS in text or has_number(text, CUSTOMER_PHONE):
            return True
        if call.method == "sendLocation":
            return True
    return False


async def expire_all_offers(bot: Bot) -> None:
    """Let every pending offer's time run out, then run the timers as the bot does."""
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(
            update(JobOffer)
            .where(JobOffer.status == OfferStatus.PENDING)  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await offers.expire_lapsed(bot.runtime.core) >= 1
    await bot.runtime.settle()


async def outbox_rows(bot: Bot) -> list[tuple[str, str, int]]:
    async with bot.runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts)  # type: ignore[call-overload]
        )
        return [tuple(row) for row in rows]


async def test_silence_moves_the_offer_on_and_marks_the_old_notice(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    await bot.add_technician(TECH_2, name="Jamal")
    await complete_booking(harness.user(CUSTOMER))
    [first] = offers_to(harness.api.calls, TECH)
    assert offers_to(harness.api.calls, TECH_2) == []

    await expire_all_offers(bot)
    [second] = offers_to(harness.api.calls, TECH_2)
    assert second.params["text"].split("\n")[2:] == first.params["text"].split("\n")[2:]
    edits = [c for c in harness.api.calls if c.method == "editMessageText" and c.status == 200]
    passed = [c for c in edits if c.params.get("chat_id") == TECH]
    assert passed and "passed to another technician" in text_of(passed[-1])
    assert "job:acc" not in str(passed[-1].params.get("reply_markup"))

    # The first technician's late Accept gets nothing; the second one's works.
    accept = next(d for d in inline_data(first) if d.startswith("job:acc:"))
    late = await harness.user(TECH, "Karim").press(accept, first.message_id)
    assert "This offer expired" in late.texts(TECH)[0]
    accept_2 = next(d for d in inline_data(second) if d.startswith("job:acc:"))
    taken = await harness.user(TECH_2, "Jamal").press(accept_2, second.message_id)
    assert held_contact(taken.calls, TECH_2)
    assert not held_contact(harness.api.calls, TECH)
    assert any("Jamal" in t for t in taken.texts(CUSTOMER))


async def test_the_last_silence_goes_to_the_operators_with_assign_buttons(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    reference, _ = await complete_booking(harness.user(CUSTOMER))
    await expire_all_offers(bot)
    admin = harness.api.sent_to(ADMIN_CHAT)
    assert admin and reference in text_of(admin[-1])
    assert any(d.startswith("op:as:") for d in inline_data(admin[-1]))
    assert any("Our team will call you" in t for t in harness.api.texts(CUSTOMER))
    assert not held_contact(harness.api.calls, TECH)


async def test_a_blocked_technician_is_skipped_at_once(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    await bot.add_technician(TECH_2, name="Jamal")
    harness.api.fail_next(TECH, 403, "Forbidden: bot was blocked by the user")
    await complete_booking(harness.user(CUSTOMER))
    assert offers_to(harness.api.calls, TECH) == []
    assert len(offers_to(harness.api.calls, TECH_2)) == 1
    rows = await outbox_rows(bot)
    assert ("offer", OutboxStatus.UNREACHABLE, 1) in rows
    async with bot.runtime.engine.connect() as conn:
        statuses = (await conn.execute(select(JobOffer.status))).scalars().all()  # type: ignore[call-overload]
    assert sorted(statuses) == [OfferStatus.EXPIRED, OfferStatus.PENDING]


async def test_a_refused_notice_is_not_retried_and_the_offer_moves_on(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    await bot.add_technician(TECH_2, name="Jamal")
    harness.api.fail_next(TECH, 400, "Bad Request: chat not found")
    await complete_booking(harness.user(CUSTOMER))
    tried = [c for c in harness.api.calls if c.params.get("chat_id") == TECH]
    assert [c.status for c in tried] == [400]  # once, never again
    assert len(offers_to(harness.api.calls, TECH_2)) == 1
    assert ("offer", OutboxStatus.FAILED, 1) in await outbox_rows(bot)


async def test_a_429_waits_the_time_it_names_then_sends_once(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    harness.api.fail_next(TECH, 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    await complete_booking(harness.user(CUSTOMER))
    elapsed = time.monotonic() - started
    to_tech = [c for c in harness.api.calls if c.params.get("chat_id") == TECH]
    assert [c.status for c in to_tech] == [429, 200]  # waited, then sent once
    assert elapsed >= 1.0
    assert len(offers_to(harness.api.calls, TECH)) == 1
    assert ("offer", OutboxStatus.SENT, 2) in await outbox_rows(bot)


async def test_network_errors_are_retried_with_backoff(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    harness.api.fail_next(TECH, 502, "Bad Gateway", times=2)
    await complete_booking(harness.user(CUSTOMER))
    delays = []
    for _ in range(2):
        async with bot.runtime.engine.begin() as conn:
            due_at, attempts = (
                await conn.execute(select(OutboxMessage.due_at, OutboxMessage.attempts))  # type: ignore[call-overload]
            ).one()
            delays.append((due_at.replace(tzinfo=utcnow().tzinfo) - utcnow(), attempts))
            await conn.execute(update(OutboxMessage).values(due_at=utcnow()))
        await bot.runtime.settle()
    assert [attempts for _, attempts in delays] == [1, 2]
    assert delays[0][0] < delays[1][0]  # the pause grows
    assert len(offers_to(harness.api.calls, TECH)) == 1
    assert ("offer", OutboxStatus.SENT, 3) in await outbox_rows(bot)


async def test_two_accepts_at_once_make_one_assignee(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    import asyncio

    from app.handle import answer
    from channels.telegram.inbound import address
    from conversations.events import ButtonPress, Inbound, Sender

    await bot.add_technician(TECH, name="Karim")
    await complete_booking(harness.user(CUSTOMER))
    [notice] = offers_to(harness.api.calls, TECH)
    accept = next(d for d in inline_data(notice) if d.startswith("job:acc:"))
    sender = Sender(address(TECH), address(TECH), "Karim", "en")
    event = Inbound(sender, ButtonPress(accept, str(notice.message_id)))
    # Both answered side by side, past the person's lock (as the dispatcher's handle was).
    core = bot.runtime.core
    (_, first), (_, second) = await asyncio.gather(answer(core, event), answer(core, event))
    texts = [e.text for r in (first, second) for e in r.effects if hasattr(e, "text")]
    assert sum("You accepted" in t for t in texts) == 1
    assert sum("You already have this job" in t for t in texts) == 1
    await bot.runtime.settle()
    contacts = [c for c in harness.api.sent_to(TECH) if CUSTOMER_NAME in text_of(c)]
    assert len(contacts) == 1


async def test_an_offer_notice_is_sent_to_the_right_chat_with_no_contact(
    harness: Harness,  # noqa: F811
    bot: Bot,
) -> None:
    await bot.add_technician(TECH, name="Karim")
    await complete_booking(harness.user(CUSTOMER), pin=True)
    [notice] = offers_to(harness.api.calls, TECH)
    assert not held_contact([notice], TECH)
    assert message_with_button(harness.api, TECH, inline_data(notice)[0]) == notice.message_id
