"""The booking conversation: consent, service, problem, area, address, phone, name, time.

A pure state machine: :func:`start` and :func:`handle` take a session and an event and return
an :class:`~conversations.router.Outcome` (the new session, the messages to send, and actions
for the core to carry out, such as storing the order: ``actions.py``). What each step asks is
``prompts.py``, what each answer means ``answers.py``, how the steps follow each other
``steps.py``, an answer already given shown again to keep after Back ``kept.py``. Nothing
here touches a database or a network.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from conversations.booking.actions import (
    Action,
    GiveConsent,
    OrderDraft,
    PlaceOrder,
    ShowPolicy,
)
from conversations.booking.answers import TEXT_STEPS, on_button
from conversations.booking.prompts import (
    ADDRESS,
    AREA,
    AREA_OTHER,
    AREA_PAGES,
    AREAS_PER_PAGE,
    CONSENT,
    EDITABLE,
    FIELD_NAMES,
    KEYBOARD_STEPS,
    MAX_ADDRESS,
    MAX_AREA_NAME,
    MAX_NAME,
    MAX_PROBLEM,
    MIN_ADDRESS,
    NAME,
    PHONE,
    PREFIX,
    PROBLEM,
    SERVICE,
    STEPS,
    SUMMARY,
    SUMMARY_ECHO,
    TIME,
    UNSUPPORTED_NAMES,
    button_data,
    button_hint,
    summary_text,
    unsupported_hint,
)
from conversations.booking.steps import back, cancel, enter, is_back, reprompt
from conversations.events import ButtonPress, Command, Inbound, Text, Unsupported
from conversations.i18n import translator
from conversations.router import Flow, register
from conversations.router import Outcome as Outcome
from conversations.session import BOOKING, Context, Profile, SaveCorrection, Session
from conversations.text import esc, one_line


def start(
    session: Session,
    ctx: Context,
    profile: Profile,
    first_name: str | None,
    address_area: tuple[str, str | None] | None = None,
) -> Outcome:
    """Begin a booking: ask for consent first unless the current policy was already agreed.

    ``address_area`` is the area (slug, typed name of an ``other`` area) the saved address was
    last booked in; the address is offered only for a booking in that area.
    """
    new = session.copy()
    new.flow = BOOKING
    new.data = {"draft": secrets.token_hex(8)}
    if first_name:
        new.data["first_name"] = one_line(first_name)[:MAX_NAME]
    if profile.phone:
        new.data["known_phone"] = profile.phone
    if profile.address or profile.latitude is not None:
        # Saved before one-line fields were cleaned, a value may still hold a line break.
        new.data["known_address"] = one_line(profile.address) if profile.address else None
        new.data["known_lat"] = profile.latitude
        new.data["known_lon"] = profile.longitude
        if address_area is not None:
            new.data["known_area"], new.data["known_area_other"] = address_area
    if profile.name:
        new.data["known_name"] = one_line(profile.name)
    first = SERVICE if profile.consent_version == ctx.policy_version else CONSENT
    outcome = Outcome(new)
    enter(outcome, first, ctx)
    return outcome


def handle(session: Session, event: Inbound, ctx: Context) -> Outcome:
    """Answer one event at the session's current step."""
    t = translator(session.lang or "bn")
    payload = event.payload
    if isinstance(payload, ButtonPress):
        return on_button(session, payload, ctx, t)
    if isinstance(payload, Text) and is_back(payload.text, session.step):
        return back(session, ctx)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return cancel(session)
        hint = t._("I don't know the command /{name}.").format(name=esc(payload.name[:32]))
        return reprompt(session, ctx, hint)
    handler = TEXT_STEPS.get(session.step)
    if handler is None:
        return reprompt(session, ctx, button_hint(t))
    if isinstance(payload, Unsupported):
        return reprompt(session, ctx, unsupported_hint(t, payload.kind, session.step))
    return handler(session, payload, ctx, t)


def _on_resume(session: Session, actions: Sequence[Any]) -> None:
    """A correction saved while the booking waited: offer the new name or phone when it resumes."""
    data = session.data
    for action in actions:
        if not isinstance(action, SaveCorrection):
            continue
        if action.field == "name":
            data["known_name"] = action.value
        elif action.field == "phone":
            data["known_phone"] = action.value
        else:
            data["known_address"] = action.value
            data["known_lat"], data["known_lon"] = action.latitude, action.longitude
            # Where the corrected address lies is not known: it is offered for no area.
            data.pop("known_area", None)
            data.pop("known_area_other", None)


#: Commands that may interrupt a booking: answered aside, then the step is asked again (the
#: entry commands /book, /register and /start say how they stand with the booking).
INTERRUPTED_BY = frozenset(
    {
        "start",
        "book",
        "register",
        "help",
        "privacy",
        "language",
        "myorders",
        "mydata",
        "deleteme",
        "jobs",
        "available",
        "away",
    }
)

FLOW = BOOKING
SPEC = register(
    Flow(
        name=BOOKING,
        handle=handle,
        reprompt=reprompt,
        steps=frozenset((*STEPS, AREA_OTHER)),
        prefix=PREFIX,
        commands=frozenset({"book"}),
        interrupted_by=INTERRUPTED_BY,
        on_resume=_on_resume,
    )
)

__all__ = [
    "ADDRESS",
    "AREA",
    "AREAS_PER_PAGE",
    "AREA_OTHER",
    "AREA_PAGES",
    "CONSENT",
    "EDITABLE",
    "FIELD_NAMES",
    "FLOW",
    "KEYBOARD_STEPS",
    "MAX_ADDRESS",
    "MAX_AREA_NAME",
    "MAX_NAME",
    "MAX_PROBLEM",
    "MIN_ADDRESS",
    "NAME",
    "PHONE",
    "PREFIX",
    "PROBLEM",
    "SERVICE",
    "SPEC",
    "STEPS",
    "SUMMARY",
    "SUMMARY_ECHO",
    "TIME",
    "UNSUPPORTED_NAMES",
    "Action",
    "GiveConsent",
    "OrderDraft",
    "PlaceOrder",
    "ShowPolicy",
    "button_data",
    "cancel",
    "handle",
    "reprompt",
    "start",
    "summary_text",
]
