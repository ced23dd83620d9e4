"""The privacy tests' scenario: one customer's whole life with the bot, through the real bot.

Three bookings, driven update by update through the ``bot`` fixture (the production
runtime, its use cases, outbox and SQLite file, with the recording fake Bot API):

1. plumbing, area "other" typed, problem text, typed address, phone typed as
   ``+880 1719-283746``: the first technician offered declines, the next one accepts;
2. plumbing in Mirpur with a location pin and the phone typed in Bengali digits: offered,
   declined and accepted in the same way, so the accepting technician receives the pin;
3. electrical, another problem, phone typed as ``8801719283746``: offered to a technician who
   never answers.

A fourth booking is left half-way (its answers sit in the conversation session), then
``/deleteme`` and its confirmation. Every value is distinctive, so finding it anywhere
(a database file, a log line, a technician's chat) cannot be a coincidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from channels.telegram.fake_api import ApiCall, FakeBotApi
from conversations.digits import localize_digits
from storage.crypto import Keyring
from tests.conftest import TOKEN, Bot
from tests.privacy.checker import PersonalValues

CUSTOMER = 5_550_123_987
FIRST_NAME = "Qorvash"
NAME = "Zorbek Qwyllian"
PHONE_E164 = "+8801719283746"
PHONE_NATIONAL = "01719283746"
#: How the customer typed the phone in each booking.
PHONE_TYPED = ("+880 1719-283746", localize_digits(PHONE_NATIONAL, "bn"), "8801719283746")
ADDRESS = "House 77, Road Plqkv, Xanthimoor Lane"
PROBLEM = "Grzwyk tap leaks under the sink"
PROBLEM_2 = "Vexmortal socket sparks at night"
PROBLEM_3 = "Quibblewort drain gurgles loudly"
AREA_OTHER = "Vorpaltown East"
PIN = (23.7931277, 90.4045613)

#: Technicians: one declines every offer, one accepts every offer, one never answers.
DECLINES = 9_100_001
ACCEPTS = 9_100_002
SILENT = 9_100_003
TECHNICIANS = {
    DECLINES: {"name": "Dabir Decliner", "phone": "+8801811111111", "services": ("plumbing",)},
    ACCEPTS: {"name": "Karim Acceptor", "phone": "+8801822222222", "services": ("plumbing",)},
    SILENT: {"name": "Salam Silent", "phone": "+8801833333333", "services": ("electrical",)},
}

REFERENCE_RE = re.compile(r"MS-[0-9A-Z]{4,}")


def phone_forms() -> tuple[str, ...]:
    """Every way the customer's phone may be written: E.164, national, 880…, bare, Bengali."""
    latin = (PHONE_E164, PHONE_NATIONAL, PHONE_E164.lstrip("+"), PHONE_NATIONAL[1:])
    bengali = tuple(localize_digits(form, "bn") for form in latin)
    return (*latin, *bengali, *PHONE_TYPED)


def personal_values(keyring: Keyring | None = None) -> PersonalValues:
    """The customer's values as the checkers search for them (blind indexes need the ring)."""
    texts = (
        NAME,
        *NAME.split(),
        FIRST_NAME,
        *phone_forms(),
        ADDRESS,
        "Plqkv",
        "Xanthimoor",
        PROBLEM,
        "Grzwyk",
        PROBLEM_2,
        "Vexmortal",
        PROBLEM_3,
        "Quibblewort",
        AREA_OTHER,
        "Vorpaltown",
        *(repr(coordinate) for coordinate in PIN),
    )
    blobs = tuple(keyring.blind_indexes(PHONE_E164)) if keyring is not None else ()
    return PersonalValues(texts=texts, integers=(CUSTOMER,), blobs=blobs)


def secrets_of_the_bot() -> tuple[str, ...]:
    """The bot token, whole and its secret half."""
    return (TOKEN, TOKEN.partition(":")[2])


def inline_data(call: ApiCall) -> list[str]:
    """The callback_data of every inline button of a call."""
    markup = call.params.get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", ()) for button in row]


def message_id_of(call: ApiCall) -> int:
    """The id of the message a send or edit call produced or changed."""
    return int(call.message_id or call.params.get("message_id") or 1)


@dataclass
class Life:
    """What the scenario did: references, and who was offered, declined or accepted what."""

    references: list[str] = field(default_factory=list)
    accepted: dict[str, int] = field(default_factory=dict)
    declined: dict[str, list[int]] = field(default_factory=dict)
    unanswered: dict[str, list[int]] = field(default_factory=dict)
    #: Every offer made, in order: (reference, technician).
    offered: list[tuple[str, int]] = field(default_factory=list)


class Customer:
    """The customer, pressing buttons on the newest message that offers them."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @property
    def api(self) -> FakeBotApi:
        return self.bot.api

    async def say(self, text: str) -> None:
        await self.bot.send(self.api.text_update(CUSTOMER, text, FIRST_NAME, "en"))

    async def pin(self) -> None:
        await self.bot.send(self.api.location_update(CUSTOMER, *PIN, FIRST_NAME, "en"))

    async def press(self, prefix: str, *, skip: tuple[str, ...] = ()) -> str:
        """Press the first button starting with ``prefix`` on the newest message offering one."""
        for call in reversed(self.api.sent_to(CUSTOMER)):
            for data in inline_data(call):
                if data.startswith(prefix) and data not in skip:
                    update = self.api.callback_update(
                        CUSTOMER, data, message_id_of(call), FIRST_NAME, "en"
                    )
                    await self.bot.send(update)
                    return data
        raise AssertionError(f"the customer was offered no button {prefix!r}")

    def newest_reference(self) -> str:
        for text in reversed(self.api.texts(CUSTOMER)):
            if match := REFERENCE_RE.search(text):
                return match.group(0)
        raise AssertionError("no order reference was sent to the customer")


async def add_technicians(bot: Bot) -> None:
    """Register the three technicians (every area, so an "other" area matches them)."""
    for telegram_id, details in TECHNICIANS.items():
        await bot.add_technician(
            telegram_id,
            name=str(details["name"]),
            phone=str(details["phone"]),
            services=tuple(details["services"]),
            areas=("all",),
        )


async def book(
    customer: Customer,
    *,
    service: str,
    problem: str | None,
    area_other: str | None,
    address: str | None,
    phone: str,
) -> str:
    """Make one booking from /book to Confirm; return its reference."""
    await customer.say("/book")
    if any("bk:consent:yes" in inline_data(call) for call in customer.api.sent_to(CUSTOMER)[-2:]):
        await customer.press("bk:consent:yes")
    await customer.press(f"bk:service:{service}")
    if problem is None:
        await customer.press("bk:problem:skip")
    else:
        await customer.say(problem)
    if area_other is None:
        await customer.press("bk:area:mirpur")
    else:
        await customer.press("bk:area:other")
        await customer.say(area_other)
    if address is None:
        await customer.pin()
    else:
        await customer.say(address)
    await customer.say(phone)
    await customer.say(NAME)
    await customer.press("bk:time:", skip=("bk:time:back",))
    await customer.press("bk:summary:confirm")
    return customer.newest_reference()


def notices(api: FakeBotApi, technician: int, reference: str) -> list[ApiCall]:
    """The job notices (with Accept/Decline) about ``reference`` sent to ``technician``."""
    return [
        call
        for call in api.sent_to(technician)
        if reference in str(call.params.get("text", ""))
        and any(data.startswith("job:acc:") for data in inline_data(call))
    ]


async def answer_offers(bot: Bot, reference: str, life: Life) -> None:
    """Let each technician offered ``reference`` act in character until nobody is asked."""
    answered: set[tuple[int, str]] = set()
    while True:
        pending = [
            (technician, call)
            for technician in TECHNICIANS
            for call in notices(bot.api, technician, reference)
            if (technician, inline_data(call)[0]) not in answered
        ]
        if not pending:
            return
        technician, call = pending[0]
        accept, decline = inline_data(call)[:2]
        answered.add((technician, accept))
        life.offered.append((reference, technician))
        if technician == SILENT:
            life.unanswered.setdefault(reference, []).append(technician)
            continue
        data = accept if technician == ACCEPTS else decline
        first_name = str(TECHNICIANS[technician]["name"]).split()[0]
        await bot.send(
            bot.api.callback_update(technician, data, message_id_of(call), first_name, "en")
        )
        if technician == ACCEPTS:
            life.accepted[reference] = technician
        else:
            life.declined.setdefault(reference, []).append(technician)


async def live(bot: Bot) -> Life:
    """Register the technicians and make the three bookings with the technicians' answers."""
    await add_technicians(bot)
    customer = Customer(bot)
    life = Life()
    bookings: list[dict[str, Any]] = [
        {
            "service": "plumbing",
            "problem": PROBLEM,
            "area_other": AREA_OTHER,
            "address": ADDRESS,
            "phone": PHONE_TYPED[0],
        },
        {
            "service": "plumbing",
            "problem": None,
            "area_other": None,
            "address": None,
            "phone": PHONE_TYPED[1],
        },
        {
            "service": "electrical",
            "problem": PROBLEM_2,
            "area_other": None,
            "address": ADDRESS,
            "phone": PHONE_TYPED[2],
        },
    ]
    for booking in bookings:
        reference = await book(customer, **booking)
        assert reference not in life.references, "a booking was not stored"
        life.references.append(reference)
        await answer_offers(bot, reference, life)
    first, second, third = life.references
    # The scenario is what the tests rely on: check it went as planned.
    assert life.accepted == {first: ACCEPTS, second: ACCEPTS}, life
    assert DECLINES in life.declined.get(first, []) + life.declined.get(second, []), life
    assert life.unanswered == {third: [SILENT]}, life
    return life


async def leave_unfinished(bot: Bot) -> None:
    """Start a fourth booking and stop at the name step: the answers wait in the session."""
    customer = Customer(bot)
    await customer.say("/book")
    await customer.press("bk:service:plumbing")
    await customer.say(PROBLEM_3)
    await customer.press("bk:area:other")
    await customer.say(AREA_OTHER)
    await customer.say(ADDRESS)
    await customer.say(PHONE_TYPED[0])


async def delete_me(bot: Bot) -> None:
    """Send /deleteme and confirm it; check the bot says it is done."""
    customer = Customer(bot)
    await customer.say("/deleteme")
    await customer.press("dr:delete:yes")
    assert "erased" in bot.api.texts(CUSTOMER)[-1]
