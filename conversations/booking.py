"""The booking conversation: consent, service, problem, area, address, phone, name, time.

A pure state machine: :func:`start` and :func:`handle` take a session and an event and return
an :class:`~conversations.router.Outcome` (the new session, the messages to send, and actions
for the core to carry out, such as storing the order). What each step asks is in
:mod:`conversations.booking_prompts`. Nothing here touches a database or a network.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from conversations import phone as phones
from conversations.booking_prompts import (
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
    area_page,
    button_data,
    button_hint,
    prompt,
    summary_text,
    unsupported_hint,
)
from conversations.catalogue import (
    AREAS,
    AREAS_BY_SLUG,
    OTHER_AREA,
    SERVICES,
    SERVICES_BY_SLUG,
    area_label,
    service_label,
)
from conversations.digits import localize_digits
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    Inbound,
    LocationShared,
    Text,
    Unsupported,
)
from conversations.i18n import Translator, translator
from conversations.outbound import Outbound
from conversations.router import Flow, Outcome, register
from conversations.session import BOOKING, Context, Profile, SaveCorrection, Session
from conversations.slots import open_slots, parse_slot_button, slot_date
from conversations.text import ASCII_NUMBER, clean, esc, has_letters


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """A confirmed booking, ready to be stored as an order."""

    draft_id: str
    lang: str
    service: str
    problem: str | None
    area: str
    area_other: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    phone: str
    name: str
    visit_date: date
    visit_part: str


@dataclass(frozen=True, slots=True)
class GiveConsent:
    """The person agreed to the privacy policy of ``version``."""

    version: str


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Store ``draft`` as an order and dispatch it."""

    draft: OrderDraft


@dataclass(frozen=True, slots=True)
class ShowPolicy:
    """Send the privacy policy before this outcome's messages."""


Action = GiveConsent | PlaceOrder | ShowPolicy


# --- entry points -------------------------------------------------------------------------


def start(session: Session, ctx: Context, profile: Profile, first_name: str | None) -> Outcome:
    """Begin a booking: ask for consent first unless the current policy was already agreed."""
    new = session.copy()
    new.flow = BOOKING
    new.data = {"draft": secrets.token_hex(8)}
    if first_name:
        new.data["first_name"] = clean(first_name)[:MAX_NAME]
    if profile.phone:
        new.data["known_phone"] = profile.phone
    if profile.address or profile.latitude is not None:
        new.data["known_address"] = profile.address
        new.data["known_lat"] = profile.latitude
        new.data["known_lon"] = profile.longitude
    if profile.name:
        new.data["known_name"] = profile.name
    first = SERVICE if profile.consent_version == ctx.policy_version else CONSENT
    outcome = Outcome(new)
    _enter(outcome, first, ctx)
    return outcome


def reprompt(session: Session, ctx: Context, hint: str | None = None) -> Outcome:
    """Ask the current step again, after an optional hint."""
    outcome = Outcome(session.copy())
    if hint:
        outcome.reply.send(Outbound(hint))
    _send_prompt(outcome, ctx)
    return outcome


def cancel(session: Session) -> Outcome:
    """Leave the booking; nothing typed so far is kept."""
    t = translator(session.lang or "bn")
    new = session.copy()
    new.reset()
    outcome = Outcome(new)
    outcome.reply.send(
        Outbound(
            t._("Booking cancelled. Nothing you typed was saved. Send /book to start again."),
            remove_keys=True,
        )
    )
    return outcome


def handle(session: Session, event: Inbound, ctx: Context) -> Outcome:
    """Answer one event at the session's current step."""
    t = translator(session.lang or "bn")
    payload = event.payload
    if isinstance(payload, ButtonPress):
        return _on_button(session, payload, ctx, t)
    if isinstance(payload, Text) and _is_back(payload.text, session.step):
        return _back(session, ctx)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return cancel(session)
        hint = t._("I don't know the command /{name}.").format(name=esc(payload.name[:32]))
        return reprompt(session, ctx, hint)
    handler = _TEXT_STEPS.get(session.step)
    if handler is None:
        return reprompt(session, ctx, button_hint(t))
    if isinstance(payload, Unsupported):
        return reprompt(session, ctx, unsupported_hint(t, payload.kind, session.step))
    return handler(session, payload, ctx, t)


def _enter(outcome: Outcome, step: str, ctx: Context, ack: str | None = None) -> None:
    """Move to ``step`` and ask it; the reply keyboard goes away when the new step has none."""
    previous = outcome.session.step
    outcome.session.step = step
    t = translator(outcome.session.lang or "bn")
    leaving_keys = previous in KEYBOARD_STEPS and step not in KEYBOARD_STEPS
    if ack or leaving_keys:
        outcome.reply.send(Outbound(ack or t._("OK."), remove_keys=leaving_keys))
    _send_prompt(outcome, ctx)


def _send_prompt(outcome: Outcome, ctx: Context) -> None:
    outcome.reply.effects.extend(prompt(outcome.session, ctx))


# --- answers -------------------------------------------------------------------------------


def _advance(outcome: Outcome, ctx: Context, ack: str | None = None) -> None:
    """Go to the step after the current one, or back to the summary when editing."""
    data = outcome.session.data
    if data.pop("editing", False):
        _enter(outcome, SUMMARY, ctx, ack)
        return
    step = outcome.session.step
    current = AREA if step == AREA_OTHER else step
    _enter(outcome, STEPS[STEPS.index(current) + 1], ctx, ack)


def _back(session: Session, ctx: Context) -> Outcome:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    data.pop("edit_menu", None)
    if data.pop("editing", False):
        _enter(outcome, SUMMARY, ctx)
        return outcome
    step = session.step
    if step == AREA_OTHER:
        target = AREA
    else:
        index = STEPS.index(step) if step in STEPS else 1
        target = STEPS[max(index - 1, 1)]
    _enter(outcome, target, ctx)
    return outcome


def _is_back(text: str, step: str) -> bool:
    # The reply keyboard's Back key arrives as text; accept it in either language.
    return step in KEYBOARD_STEPS and text.strip() in _BACK_LABELS


_BACK_LABELS = frozenset(translator(lang)._("◀ Back") for lang in ("bn", "en")) | {"◀ Back"}


def _on_button(session: Session, press: ButtonPress, ctx: Context, t: Translator) -> Outcome:
    parts = press.data.split(":")
    if len(parts) < 3 or parts[0] != PREFIX or parts[1] != session.step:
        hint = t._("That button belongs to an earlier message. Here is where we are:")
        return reprompt(session, ctx, hint)
    step, value, rest = parts[1], parts[2], parts[3:]
    if value == "back":
        return _back(session, ctx)
    if step == AREA and value == "page":
        return _area_page(session, rest, press.message_id, t)
    handler = _BUTTON_STEPS.get(step)
    outcome = handler(session, value, rest, ctx, t) if handler else None
    if outcome is None:
        return reprompt(session, ctx, button_hint(t))
    return outcome


def _consent_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    if value == "yes":
        outcome = Outcome(session.copy())
        outcome.actions.append(GiveConsent(ctx.policy_version))
        outcome.reply.toast = t._("Thank you!")
        _advance(outcome, ctx)
        return outcome
    if value == "no":
        new = session.copy()
        new.reset()
        outcome = Outcome(new)
        outcome.reply.send(
            Outbound(
                t._(
                    "No problem: we saved nothing. Without these details we cannot send a"
                    " technician; you can also call us. Send /book whenever you are ready."
                ),
            )
        )
        return outcome
    if value == "policy":
        # The caller sends the policy; the consent question is asked again after it.
        outcome = Outcome(session.copy(), actions=[ShowPolicy()])
        _send_prompt(outcome, ctx)
        return outcome
    return None


def _service_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    if value not in SERVICES_BY_SLUG:
        return None
    outcome = Outcome(session.copy())
    outcome.session.data["service"] = value
    outcome.reply.toast = service_label(value, t.lang)
    _advance(outcome, ctx)
    return outcome


def _problem_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    if value != "skip":
        return None
    outcome = Outcome(session.copy())
    outcome.session.data["problem"] = None
    _advance(outcome, ctx)
    return outcome


def _area_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if value == OTHER_AREA:
        outcome.session.step = AREA_OTHER
        _send_prompt(outcome, ctx)
        return outcome
    if value not in AREAS_BY_SLUG:
        return None
    data["area"], data["area_other"] = value, None
    data.pop("area_page", None)
    outcome.reply.toast = area_label(value, t.lang)
    _advance(outcome, ctx)
    return outcome


def _area_page(
    session: Session, rest: list[str], message_id: str | None, t: Translator
) -> Outcome:
    outcome = Outcome(session.copy())
    page = int(rest[0]) if rest and ASCII_NUMBER.fullmatch(rest[0]) else 0
    page = max(0, min(page, AREA_PAGES - 1))
    outcome.session.data["area_page"] = page
    # Page in place: the list replaces itself rather than a new message per page.
    outcome.reply.send(area_page(t, page, replaces=message_id))
    return outcome


def _address_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    data = session.data
    if value != "saved" or not (data.get("known_address") or data.get("known_lat") is not None):
        return None
    outcome = Outcome(session.copy())
    new = outcome.session.data
    new["address"], new["lat"], new["lon"] = (
        data.get("known_address"),
        data.get("known_lat"),
        data.get("known_lon"),
    )
    _advance(outcome, ctx)
    return outcome


def _phone_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    known = session.data.get("known_phone")
    if value != "saved" or not known:
        return None
    outcome = Outcome(session.copy())
    outcome.session.data["phone"] = known
    _advance(outcome, ctx)
    return outcome


def _time_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    parsed = parse_slot_button(value, ctx.now)
    if parsed is None:
        return None
    day, part = parsed
    still_open = {(slot_date(slot, ctx.now), slot.part) for slot in open_slots(ctx.now)}
    if (day, part) not in still_open:
        # The time passed while the message sat in the chat: offer what is still open.
        return reprompt(session, ctx, t._("That time has passed. Please choose another:"))
    outcome = Outcome(session.copy())
    outcome.session.data["visit_date"] = day.isoformat()
    outcome.session.data["visit_part"] = part
    _advance(outcome, ctx)
    return outcome


def _summary_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if value == "confirm":
        draft = _draft(session)
        if draft is None:
            # Should not happen (every step is required to reach the summary), but never
            # store half an order: send the customer to the first missing answer.
            return _first_missing(session, ctx)
        outcome.session.reset()
        outcome.actions.append(PlaceOrder(draft))
        outcome.reply.toast = t._("Booking confirmed")
        return outcome
    if value == "cancel":
        return cancel(session)
    if value == "edit" and rest and rest[0] in EDITABLE:
        data.pop("edit_menu", None)
        data["editing"] = True
        outcome.session.step = rest[0]
        _send_prompt(outcome, ctx)
        return outcome
    if value == "edit":
        data["edit_menu"] = True
        _send_prompt(outcome, ctx)
        return outcome
    if value == "view":
        data.pop("edit_menu", None)
        _send_prompt(outcome, ctx)
        return outcome
    return None


_BUTTON_STEPS: dict[
    str, Callable[[Session, str, list[str], Context, Translator], Outcome | None]
] = {
    CONSENT: _consent_button,
    SERVICE: _service_button,
    PROBLEM: _problem_button,
    AREA: _area_button,
    ADDRESS: _address_button,
    PHONE: _phone_button,
    TIME: _time_button,
    SUMMARY: _summary_button,
}


def _text_of(payload: object) -> str | None:
    return clean(payload.text) if isinstance(payload, Text) else None


def _service_text(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    # People often type the service instead of tapping: accept a name or slug in either language.
    typed = (_text_of(payload) or "").casefold()
    for service in SERVICES:
        names = {service.slug, *(service.label(lang).casefold() for lang in ("bn", "en"))}
        if typed in names:
            return _service_button(session, service.slug, [], ctx, t) or reprompt(session, ctx)
    return reprompt(session, ctx, button_hint(t))


def _problem_text(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    text = _text_of(payload)
    if not text:
        return reprompt(session, ctx, t._("Please describe the problem in words, or tap Skip."))
    if len(text) > MAX_PROBLEM:
        hint = localize_digits(
            t._("That is {n} characters; please keep it under {limit}.").format(
                n=len(text), limit=MAX_PROBLEM
            ),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["problem"] = text
    _advance(outcome, ctx)
    return outcome


def _area_text_answer(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    typed = (_text_of(payload) or "").casefold()
    for area in AREAS:
        if typed in {area.slug, area.bn.casefold(), area.en.casefold()}:
            return _area_button(session, area.slug, [], ctx, t) or reprompt(session, ctx)
    return reprompt(
        session, ctx, t._("Please choose your area from the buttons, or tap “Other area”.")
    )


def _area_other_text(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    text = _text_of(payload)
    if not text or not has_letters(text) or len(text) > MAX_AREA_NAME:
        return reprompt(session, ctx, t._("Please type just the name of your area."))
    outcome = Outcome(session.copy())
    outcome.session.data["area"], outcome.session.data["area_other"] = OTHER_AREA, text
    outcome.session.data.pop("area_page", None)
    _advance(outcome, ctx)
    return outcome


def _address_answer(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if isinstance(payload, LocationShared):
        if not (-90 <= payload.latitude <= 90 and -180 <= payload.longitude <= 180):
            return reprompt(
                session, ctx, t._("That location could not be read. Please try again.")
            )
        # A new answer replaces the old one whole: a pin never keeps an outdated address.
        data["lat"], data["lon"] = payload.latitude, payload.longitude
        data["address"] = None
        _advance(outcome, ctx, t._("📍 Location received."))
        return outcome
    text = _text_of(payload)
    if not text or len(text) < MIN_ADDRESS or not has_letters(text):
        hint = t._("Please type the full address: house, road, area and a landmark.")
        return reprompt(session, ctx, hint)
    if len(text) > MAX_ADDRESS:
        hint = localize_digits(
            t._("That is {n} characters; please keep it under {limit}.").format(
                n=len(text), limit=MAX_ADDRESS
            ),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    data["address"] = text
    data["lat"], data["lon"] = None, None
    _advance(outcome, ctx, t._("🏠 Address saved."))
    return outcome


def _phone_answer(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    if isinstance(payload, ContactShared):
        if payload.owner != session.person.id:
            hint = t._("Please share your own number with the button, or type it.")
            return reprompt(session, ctx, hint)
        raw = payload.phone
    elif isinstance(payload, Text):
        raw = payload.text
    else:
        return reprompt(session, ctx, unsupported_hint(t, "other", PHONE))
    e164 = phones.parse_bd_mobile(raw)
    if e164 is None:
        hint = localize_digits(
            t._(
                "That does not look like a Bangladeshi mobile number. Please send 11 digits"
                " starting with 01, e.g. 01712345678."
            ),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["phone"] = e164
    shown = localize_digits(phones.national_form(e164), t.lang)
    _advance(outcome, ctx, t._("📞 Phone: {phone}").format(phone=shown))
    return outcome


def _name_answer(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    text = _text_of(payload)
    if not text or not has_letters(text) or len(text) > MAX_NAME:
        hint = localize_digits(
            t._("Please type a name of up to {limit} characters.").format(limit=MAX_NAME),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["name"] = text
    _advance(outcome, ctx, t._("👤 Name: {name}").format(name=esc(text)))
    return outcome


_TEXT_STEPS: dict[str, Callable[[Session, object, Context, Translator], Outcome]] = {
    SERVICE: _service_text,
    PROBLEM: _problem_text,
    AREA: _area_text_answer,
    AREA_OTHER: _area_other_text,
    ADDRESS: _address_answer,
    PHONE: _phone_answer,
    NAME: _name_answer,
}


# --- confirming ------------------------------------------------------------------------------


def _draft(session: Session) -> OrderDraft | None:
    data = session.data
    try:
        return OrderDraft(
            draft_id=str(data["draft"]),
            lang=session.lang or "bn",
            service=str(data["service"]),
            problem=data.get("problem"),
            area=str(data["area"]),
            area_other=data.get("area_other"),
            address=data.get("address"),
            latitude=data.get("lat"),
            longitude=data.get("lon"),
            phone=str(data["phone"]),
            name=str(data["name"]),
            visit_date=date.fromisoformat(str(data["visit_date"])),
            visit_part=str(data["visit_part"]),
        )
    except (KeyError, ValueError):
        return None


def _first_missing(session: Session, ctx: Context) -> Outcome:
    data = session.data
    required = {
        SERVICE: "service",
        AREA: "area",
        PHONE: "phone",
        NAME: "name",
        TIME: "visit_part",
    }
    outcome = Outcome(session.copy())
    for step, key in required.items():
        if not data.get(key):
            _enter(outcome, step, ctx)
            return outcome
    if data.get("address") is None and data.get("lat") is None:
        _enter(outcome, ADDRESS, ctx)
        return outcome
    _enter(outcome, SUMMARY, ctx)
    return outcome


def _on_resume(session: Session, actions: Sequence[Any]) -> None:
    """A correction saved while the booking waited: offer the new details when it resumes."""
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
