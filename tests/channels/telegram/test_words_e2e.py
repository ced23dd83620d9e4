"""Words that mean one thing (issue 12, items 4, 5, 6 and 13), end to end.

Through the real runtime and the recording offline Bot API: the visit slots offered at a
given Dhaka time and named with their hours; the visit, labelled, in /myorders, /mydata and
the technician's notice; a press on a closed offer told truthfully why; a long text refused
with the limit, not a count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conversations.booking import MAX_PROBLEM
from conversations.slots import DHAKA, format_visit
from conversations.text import too_long
from tests.channels.telegram.test_booking_e2e import (
    CUSTOMER,
    TECH,
    TECH_2,
    Harness,
    book_until,
    complete_booking,
    inline_data,
    message_with_button,
)
from tests.conftest import Bot
from tests.service.test_delivery import expire_all_offers


@pytest.fixture
def harness(bot: Bot) -> Harness:
    return Harness(bot)


def tomorrow_in_dhaka(hour: int, minute: int) -> datetime:
    """A Dhaka time tomorrow: ahead of the real clock, so no offer lapses by itself."""
    day = datetime.now(DHAKA).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=DHAKA).astimezone(UTC)


def set_clock(bot: Bot, now: datetime) -> date:
    bot.runtime.core.clock = lambda: now
    return now.astimezone(DHAKA).date()


def labels(call: object) -> list[str]:
    markup = call.params.get("reply_markup") or {}  # type: ignore[attr-defined]
    return [b["text"] for row in markup.get("inline_keyboard", ()) for b in row]


# --- item 6: slots ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "today"),
    [
        (18, 35, ["Today · Evening (6–9 pm)"]),
        (20, 1, []),
        (
            14,
            0,
            ["Today · Midday (12–3 pm)", "Today · Afternoon (3–6 pm)", "Today · Evening (6–9 pm)"],
        ),
    ],
)
async def test_time_buttons_offer_today_only_with_an_hour_left_and_show_the_hours(
    harness: Harness, bot: Bot, hour: int, minute: int, today: list[str]
) -> None:
    set_clock(bot, tomorrow_in_dhaka(hour, minute))
    customer = harness.user(CUSTOMER, "Rahim", "en")
    await book_until(customer, "time")
    prompt = customer.last_prompt()
    shown = [label for label in labels(prompt) if "·" in label]
    assert [label for label in shown if label.startswith("Today")] == today
    assert shown[len(today) :][:4] == [
        "Tomorrow · Morning (8 am–12 pm)",
        "Tomorrow · Midday (12–3 pm)",
        "Tomorrow · Afternoon (3–6 pm)",
        "Tomorrow · Evening (6–9 pm)",
    ]
    assert "Dhaka time" in prompt.params["text"]
    # Two a row: a label with its hours is too wide for more.
    rows = prompt.params["reply_markup"]["inline_keyboard"]
    assert all(len(row) <= 2 for row in rows)


# --- item 4: the visit, labelled, everywhere ----------------------------------------------


async def test_myorders_mydata_and_the_notice_show_the_same_labelled_visit(
    harness: Harness, bot: Bot
) -> None:
    visit_day = set_clock(bot, tomorrow_in_dhaka(18, 35))
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER, "Rahim", "en")
    steps = await book_until(customer, "done")
    visit = "Visit: " + format_visit(visit_day, "evening", "en")  # "Today · Evening" was chosen
    notice = next(c for c in steps["summary"].sends(TECH) if inline_data(c))
    assert visit in notice.params["text"]
    mine = (await customer.say("/myorders")).texts(CUSTOMER)[0]
    held = (await customer.say("/mydata")).texts(CUSTOMER)[0]
    assert visit in mine and visit in held
    assert "Evening (6–9 pm)" in visit


# --- item 5: a press on a closed offer ----------------------------------------------------


async def test_accept_after_decline_says_you_declined(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    await bot.add_technician(TECH_2, name="Jamal", phone="+8801912345678")
    _, confirm = await complete_booking(harness.user(CUSTOMER))
    accept, decline = inline_data(next(c for c in confirm.sends(TECH) if inline_data(c)))
    notice = message_with_button(harness.api, TECH, accept)
    technician = harness.user(TECH, "Karim")
    await technician.press(decline, notice)
    late = await technician.press(accept, notice)
    assert late.texts(TECH) == ["You declined this job."]
    again = await technician.press(decline, notice)
    assert again.texts(TECH) == ["You declined this job."]


async def test_accept_twice_and_decline_after_accept_say_the_job_is_yours(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    _, confirm = await complete_booking(harness.user(CUSTOMER))
    accept, decline = inline_data(next(c for c in confirm.sends(TECH) if inline_data(c)))
    notice = message_with_button(harness.api, TECH, accept)
    technician = harness.user(TECH, "Karim")
    await technician.press(accept, notice)
    for data in (accept, decline):
        late = await technician.press(data, notice)
        assert late.texts(TECH) == [
            "You already have this job: /jobs shows it with the customer's contact."
        ]


async def test_a_lapsed_offer_says_it_expired_then_that_another_took_it(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    await bot.add_technician(TECH_2, name="Jamal", phone="+8801912345678")
    _, confirm = await complete_booking(harness.user(CUSTOMER))
    accept = inline_data(next(c for c in confirm.sends(TECH) if inline_data(c)))[0]
    notice = message_with_button(harness.api, TECH, accept)
    await expire_all_offers(bot)
    technician = harness.user(TECH, "Karim")
    late = await technician.press(accept, notice)
    assert late.texts(TECH) == ["This offer expired: it was not answered in time."]
    # The second technician takes it: the first one's old button now says so.
    accept_2 = next(
        d for c in harness.api.sent_to(TECH_2) for d in inline_data(c) if d.startswith("job:acc:")
    )
    await harness.user(TECH_2, "Jamal").press(
        accept_2, message_with_button(harness.api, TECH_2, accept_2)
    )
    later = await technician.press(accept, notice)
    assert later.texts(TECH) == ["Another technician took this job."]


async def test_an_offer_whose_order_was_cancelled_says_so(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    _, confirm = await complete_booking(customer)
    accept = inline_data(next(c for c in confirm.sends(TECH) if inline_data(c)))[0]
    notice = message_with_button(harness.api, TECH, accept)
    cancel = next(
        d
        for c in (await customer.say("/myorders")).sends(CUSTOMER)
        for d in inline_data(c)
        if d.startswith("ord:cx:")
    )
    await customer.press(cancel)
    await customer.press(cancel.replace(":cx:", ":cy:"))
    late = await harness.user(TECH, "Karim").press(accept, notice)
    assert late.texts(TECH) == ["This job was cancelled."]


# --- item 13: a long text is refused with the limit ---------------------------------------


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_a_long_problem_is_refused_with_the_limit_not_a_count(
    harness: Harness, lang: str
) -> None:
    customer = harness.user(CUSTOMER, "Rahim", lang)
    await book_until(customer, "problem")
    typed = ("সমস্যা " * 300)[:1754]
    refused = " ".join((await customer.say(typed)).texts(CUSTOMER))
    assert too_long(lang, MAX_PROBLEM) in refused
    assert not any(n in refused for n in ("1754", "১৭৫৪", "1,754", "১,৭৫৪"))
