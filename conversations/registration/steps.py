"""Moving through a registration: ask a step, go on, go back, cancel, the application."""

from __future__ import annotations

from conversations.catalogue import (
    ALL_AREAS,
    AREAS_BY_SLUG,
    SERVICES_BY_SLUG,
)
from conversations.i18n import LANGUAGES, translator
from conversations.outbound import Outbound
from conversations.registration.actions import Application
from conversations.registration.prompts import (
    AREAS_STEP,
    KEYBOARD_STEPS,
    LOCATION,
    NAME,
    PHONE,
    PROMPTS,
    SERVICES_STEP,
    STEPS,
    chosen_in,
    session_translator,
)
from conversations.router import Outcome
from conversations.session import Session
from conversations.text import one_line


def reprompt(session: Session, hint: str | None = None) -> Outcome:
    """Ask the current step again, after an optional hint."""
    outcome = Outcome(session.copy())
    if session.step not in STEPS:
        # A damaged session (never written by this module): start the questions over.
        outcome.session.step = NAME
    if hint:
        outcome.reply.send(Outbound(hint))
    send_prompt(outcome)
    return outcome


def cancel(session: Session) -> Outcome:
    """Leave the registration; nothing typed so far is kept."""
    t = session_translator(session)
    new = session.copy()
    new.reset()
    outcome = Outcome(new)
    text = t._("Registration cancelled. Nothing was saved. Send /register to start again.")
    outcome.reply.send(Outbound(text, remove_keys=True))
    return outcome


def enter(outcome: Outcome, step: str, ack: str | None = None) -> None:
    """Move to ``step`` and ask it; the reply keyboard goes away when the new step has none."""
    previous = outcome.session.step
    outcome.session.step = step
    t = session_translator(outcome.session)
    leaving_keys = previous in KEYBOARD_STEPS and step not in KEYBOARD_STEPS
    if ack or leaving_keys:
        outcome.reply.send(Outbound(ack or t._("OK."), remove_keys=leaving_keys))
    send_prompt(outcome)


def send_prompt(outcome: Outcome) -> None:
    """Ask the outcome's step."""
    session = outcome.session
    outcome.reply.effects.extend(PROMPTS[session.step](session, session_translator(session)))


def advance(outcome: Outcome, ack: str | None = None) -> None:
    """Go to the next step (or back to the summary when editing)."""
    step = outcome.session.step
    enter(outcome, STEPS[STEPS.index(step) + 1], ack)


def back(session: Session) -> Outcome:
    """Go one step back."""
    index = STEPS.index(session.step)
    if index == 0:
        # Nothing before the first question: ask it again (/cancel leaves).
        return reprompt(
            session,
            session_translator(session)._("This is the first question. Send /cancel to stop."),
        )
    outcome = Outcome(session.copy())
    enter(outcome, STEPS[index - 1])
    return outcome


BACK_LABELS = frozenset(translator(lang)._("◀ Back") for lang in LANGUAGES) | {"◀ Back"}
SKIP_LABELS = frozenset(translator(lang)._("Skip ▶") for lang in LANGUAGES) | {"Skip ▶"}


def application_of(session: Session) -> Application | None:
    """The application the answers make (None when one is missing)."""
    data = session.data
    services, areas = valid_services(session), valid_areas(session)
    # A name kept in a session from before names were cleaned on input is cleaned here.
    name = one_line(data["name"]) if isinstance(data.get("name"), str) else None
    phone = data.get("phone")
    if not (name and isinstance(phone, str) and phone):
        return None
    if not services or not areas or "lat" not in data:
        return None
    latitude, longitude = data.get("lat"), data.get("lon")
    pinned = isinstance(latitude, int | float) and isinstance(longitude, int | float)
    return Application(
        lang=session.lang or "bn",
        name=name,
        phone=phone,
        services=services,
        areas=areas,
        latitude=float(latitude) if pinned else None,  # type: ignore[arg-type]
        longitude=float(longitude) if pinned else None,  # type: ignore[arg-type]
    )


def valid_services(session: Session) -> tuple[str, ...]:
    """The services chosen that exist."""
    return tuple(slug for slug in chosen_in(session, "services") if slug in SERVICES_BY_SLUG)


def valid_areas(session: Session) -> tuple[str, ...]:
    """The areas chosen that exist."""
    chosen = chosen_in(session, "areas")
    return tuple(slug for slug in chosen if slug in AREAS_BY_SLUG or slug == ALL_AREAS)


def first_missing(session: Session) -> Outcome:
    """Go to the first step whose answer is missing."""
    data = session.data
    outcome = Outcome(session.copy())
    if not data.get("name"):
        target = NAME
    elif not data.get("phone"):
        target = PHONE
    elif not valid_services(session):
        target = SERVICES_STEP
    elif not valid_areas(session):
        target = AREAS_STEP
    else:
        target = LOCATION
    enter(outcome, target)
    return outcome
