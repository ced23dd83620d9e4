"""Helpers to play the technicians' registration in tests (not a test module itself)."""

from __future__ import annotations

from conversations import registration
from conversations.events import (
    Address,
    ButtonPress,
    ContactShared,
    Inbound,
    Payload,
    Sender,
    Text,
)
from conversations.i18n import translator
from conversations.outbound import Outbound
from conversations.router import Outcome
from conversations.session import Session

#: The test applicant's id on Telegram (ids are strings now) and their address.
USER = "5151"
#: Someone else's id, as a shared contact names them.
OTHER_USER = "5152"
PERSON = Address("telegram", USER)
FIRST_NAME = "Sohel"
SENDER = Sender(person=PERSON, chat=PERSON, first_name=FIRST_NAME)
NAME_TEXT = "Sohel Rana"
PHONE_TEXT = "01812345678"
PHONE_E164 = "+8801812345678"
PIN = (23.8103, 90.4125)

#: The answer given at each step on the straight path (a location pin at the optional step).
PATH: tuple[tuple[str, Payload], ...] = (
    (registration.NAME, Text(NAME_TEXT)),
    (registration.PHONE, ContactShared(PHONE_E164, USER)),
    (registration.SERVICES_STEP, ButtonPress("rg:services:t:plumbing", "10")),
    (registration.SERVICES_STEP, ButtonPress("rg:services:done", "10")),
    (registration.AREAS_STEP, ButtonPress("rg:areas:t:mirpur", "11")),
    (registration.AREAS_STEP, ButtonPress("rg:areas:done", "11")),
)


def event(payload: Payload) -> Inbound:
    """Wrap ``payload`` as sent by the test applicant."""
    return Inbound(SENDER, payload)


def begin(lang: str, first_name: str | None = FIRST_NAME) -> Outcome:
    """Start a registration for a fresh session in ``lang``."""
    return registration.start(Session(PERSON, lang), first_name)


def send(session: Session, payload: Payload) -> Outcome:
    """Answer one event at the session's step."""
    return registration.handle(session, event(payload))


def skip_label(lang: str) -> str:
    return translator(lang)._("Skip ▶")


def session_at(step: str, lang: str, *, pin: bool = True) -> Session:
    """Play the straight path until the session stands at ``step``."""
    session = begin(lang).session
    for current, answer in PATH:
        if session.step == step:
            return session
        assert session.step == current, (session.step, current)
        session = send(session, answer).session
    if session.step == step:
        return session
    assert session.step == registration.LOCATION
    answer: Payload = Text(skip_label(lang))
    if pin:
        from conversations.events import LocationShared

        answer = LocationShared(*PIN)
    session = send(session, answer).session
    assert session.step == step, (session.step, step)
    return session


def messages(outcome: Outcome) -> list[Outbound]:
    """The outbound messages of an outcome (every effect the flow makes is one)."""
    found = [effect for effect in outcome.reply.effects if isinstance(effect, Outbound)]
    assert len(found) == len(outcome.reply.effects)
    return found


def datas(outcome: Outcome) -> list[str]:
    """Every inline button's data across the outcome's messages."""
    return [
        button.data for message in messages(outcome) for row in message.buttons for button in row
    ]


def prompt_datas(session: Session) -> list[str]:
    """The button data of the prompt at the session's step."""
    return datas(registration.reprompt(session))
