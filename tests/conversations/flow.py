"""Helpers to play the booking conversation in tests (not a test module itself)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from conversations import booking
from conversations.events import Address, ButtonPress, Inbound, Payload, Sender, Text
from conversations.outbound import Outbound
from conversations.router import Outcome
from conversations.session import Context, Profile, Session

#: 2026-11-24 09:00 in Dhaka: every part of today is still open.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
POLICY = "2025-12-24"
CTX = Context(now=NOW, policy_version=POLICY)
#: The test customer's id on Telegram (ids are strings now) and their address.
USER = "4242"
#: Someone else's id, as a shared contact names them.
OTHER_USER = "4243"
PERSON = Address("telegram", USER)
FIRST_NAME = "Rahim"
SENDER = Sender(person=PERSON, chat=PERSON, first_name=FIRST_NAME)
LANGS = ("bn", "en")

PROBLEM_TEXT = "Kitchen tap is leaking"
ADDRESS_TEXT = "House 12, Road 5, Block C, near the mosque"
PHONE_TEXT = "01712345678"
PHONE_E164 = "+8801712345678"
NAME_TEXT = "Rahim Uddin"

RETURNING = Profile(
    name="Karim Hossain",
    phone="+8801898765432",
    address="Flat 3B, House 7, Road 11, Mirpur 10",
    latitude=23.7937,
    longitude=90.4066,
    consent_version=POLICY,
)
#: Where the returning customer's saved address was last booked: the path's area.
SAVED_AREA = ("mirpur", None)

#: The answer given at each step on the straight path through a booking.
PATH: tuple[tuple[str, Payload], ...] = (
    (booking.CONSENT, ButtonPress("bk:consent:yes", "1")),
    (booking.SERVICE, ButtonPress("bk:service:plumbing", "2")),
    (booking.PROBLEM, Text(PROBLEM_TEXT)),
    (booking.AREA, ButtonPress("bk:area:mirpur", "3")),
    (booking.ADDRESS, Text(ADDRESS_TEXT)),
    (booking.PHONE, Text(PHONE_TEXT)),
    (booking.NAME, Text(NAME_TEXT)),
    (booking.TIME, ButtonPress("bk:time:20261125-evening", "4")),
)


def event(payload: Payload) -> Inbound:
    """Wrap ``payload`` as sent by the test customer."""
    return Inbound(SENDER, payload)


def begin(
    lang: str,
    profile: Profile | None = None,
    first_name: str | None = FIRST_NAME,
    ctx: Context = CTX,
    address_area: tuple[str, str | None] | None = SAVED_AREA,
) -> Outcome:
    """Start a booking for a fresh session in ``lang``."""
    return booking.start(
        Session(PERSON, lang), ctx, profile or Profile(), first_name, address_area
    )


def send(session: Session, payload: Payload, ctx: Context = CTX) -> Outcome:
    """Answer one event at the session's step."""
    return booking.handle(session, event(payload), ctx)


def session_at(step: str, lang: str, profile: Profile | None = None) -> Session:
    """Play the straight path until the session stands at ``step``."""
    session = begin(lang, profile).session
    if step == booking.AREA_OTHER:
        session = session_at(booking.AREA, lang, profile)
        return send(session, ButtonPress("bk:area:other", "5")).session
    for current, answer in PATH:
        if session.step == step:
            return session
        if current == booking.CONSENT and session.step == booking.SERVICE:
            continue  # the profile already agreed to this policy
        assert session.step == current, (session.step, current)
        session = send(session, answer).session
    assert session.step == step, (session.step, step)
    return session


def messages(outcome: Outcome) -> list[Outbound]:
    """The outbound messages of an outcome (every effect the booking makes is one)."""
    found = [effect for effect in outcome.reply.effects if isinstance(effect, Outbound)]
    assert len(found) == len(outcome.reply.effects)
    return found


def datas(items: Outcome | Iterable[Outbound]) -> list[str]:
    """Every inline button's data across the messages."""
    outbounds = messages(items) if isinstance(items, Outcome) else list(items)
    return [button.data for message in outbounds for row in message.buttons for button in row]


def prompt_datas(session: Session, ctx: Context = CTX) -> list[str]:
    """The button data of the prompt at the session's step."""
    return datas(booking.reprompt(session, ctx))
