"""What each answer means in a registration: the buttons pressed, the text and pins sent."""

from __future__ import annotations

import math
from collections.abc import Callable

from conversations import phone as phones
from conversations.catalogue import (
    ALL_AREAS,
    AREAS,
    AREAS_BY_SLUG,
    SERVICES,
    SERVICES_BY_SLUG,
    area_label,
    service_label,
)
from conversations.digits import localize_digits
from conversations.events import (
    ButtonPress,
    ContactShared,
    LocationShared,
    Text,
)
from conversations.i18n import Translator
from conversations.outbound import Outbound
from conversations.registration.actions import SubmitApplication
from conversations.registration.prompts import (
    AREAS_STEP,
    BACK,
    CANCEL,
    DONE,
    LOCATION,
    MAX_NAME,
    NAME,
    PAGE,
    PHONE,
    PREFIX,
    SERVICES_STEP,
    SUBMIT,
    SUMMARY,
    TOGGLE,
    area_page_of,
    area_pages,
    areas_buttons,
    areas_text,
    button_hint,
    chosen_in,
    services_buttons,
    services_text,
    unsupported_hint,
)
from conversations.registration.steps import (
    SKIP_LABELS,
    advance,
    application_of,
    back,
    cancel,
    first_missing,
    reprompt,
)
from conversations.router import Outcome
from conversations.session import Session
from conversations.text import ASCII_NUMBER, esc, has_letters, one_line


def on_button(session: Session, press: ButtonPress, t: Translator) -> Outcome:
    """Answer a press of one of the registration's buttons at the session's step."""
    parts = press.data.split(":")
    if len(parts) < 3 or parts[0] != PREFIX or parts[1] != session.step:
        hint = t._("That button belongs to an earlier message. Here is where we are:")
        return reprompt(session, hint)
    step, value, rest = parts[1], parts[2], parts[3:]
    if value == BACK and not rest:
        return back(session)
    outcome: Outcome | None = None
    if step == SERVICES_STEP:
        outcome = _services_button(session, value, rest, press.message_id, t)
    elif step == AREAS_STEP:
        outcome = _areas_button(session, value, rest, press.message_id, t)
    elif step == SUMMARY and not rest:
        outcome = _summary_button(session, value, t)
    return outcome or reprompt(session, button_hint(t))


def toggled(chosen: list[str], slug: str) -> tuple[list[str], bool]:
    """Return ``chosen`` with ``slug`` added or removed, and whether it is in now."""
    if slug in chosen:
        return [item for item in chosen if item != slug], False
    return [*chosen, slug], True


def _services_button(
    session: Session, value: str, rest: list[str], message_id: str | None, t: Translator
) -> Outcome | None:
    chosen = chosen_in(session, "services")
    if value == DONE and not rest:
        if not chosen:
            return reprompt(session, t._("Please choose at least one service."))
        outcome = Outcome(session.copy())
        advance(outcome)
        return outcome
    if value != TOGGLE or len(rest) != 1 or rest[0] not in SERVICES_BY_SLUG:
        return None
    slug = rest[0]
    chosen, added = toggled(chosen, slug)
    # Keep the catalogue's order, whatever the order of the taps.
    chosen = [service.slug for service in SERVICES if service.slug in chosen]
    outcome = Outcome(session.copy())
    outcome.session.data["services"] = chosen
    outcome.reply.toast = ("✓ " if added else "✖ ") + service_label(slug, t.lang)
    # Marked in place: the same message is edited rather than a new one sent per tap.
    outcome.reply.send(
        Outbound(
            services_text(t),
            buttons=services_buttons(t, chosen),
            replaces=message_id,
        )
    )
    return outcome


def _areas_button(
    session: Session, value: str, rest: list[str], message_id: str | None, t: Translator
) -> Outcome | None:
    chosen = chosen_in(session, "areas")
    page = area_page_of(session)
    if value == DONE and not rest:
        if not chosen:
            return reprompt(session, t._("Please choose at least one area, or “All areas”."))
        outcome = Outcome(session.copy())
        outcome.session.data.pop("area_page", None)
        advance(outcome)
        return outcome
    if value == PAGE and len(rest) == 1 and ASCII_NUMBER.fullmatch(rest[0]):
        page = max(0, min(int(rest[0]), area_pages() - 1))
        toast = None
    elif value == ALL_AREAS and not rest:
        # "All areas" stands alone: it covers every area, and the list in it means nothing.
        added = ALL_AREAS not in chosen
        chosen = [ALL_AREAS] if added else []
        toast = ("✓ " if added else "✖ ") + t._("🌐 All areas")
    elif value == TOGGLE and len(rest) == 1 and rest[0] in AREAS_BY_SLUG:
        slug = rest[0]
        chosen, added = toggled([item for item in chosen if item != ALL_AREAS], slug)
        chosen = [area.slug for area in AREAS if area.slug in chosen]
        toast = ("✓ " if added else "✖ ") + area_label(slug, t.lang)
    else:
        return None
    outcome = Outcome(session.copy())
    outcome.session.data["areas"] = chosen
    outcome.session.data["area_page"] = page
    outcome.reply.toast = toast
    outcome.reply.send(
        Outbound(
            areas_text(t, chosen, page),
            buttons=areas_buttons(t, chosen, page),
            replaces=message_id,
        )
    )
    return outcome


def _summary_button(session: Session, value: str, t: Translator) -> Outcome | None:
    if value == CANCEL:
        return cancel(session)
    if value != SUBMIT:
        return None
    application = application_of(session)
    if application is None:
        # Should not happen (every step is required to reach the summary), but never store
        # half an application: go back to the first missing answer.
        return first_missing(session)
    new = session.copy()
    new.reset()
    outcome = Outcome(new, actions=[SubmitApplication(application)])
    outcome.reply.toast = t._("Application sent")
    return outcome


def _name_answer(session: Session, payload: object, t: Translator) -> Outcome:
    # One line: customers and the operators see it beside the technician's phone.
    text = one_line(payload.text) if isinstance(payload, Text) else ""
    if not text or not has_letters(text) or len(text) > MAX_NAME:
        hint = localize_digits(
            t._("Please type a name of up to {limit} characters.").format(limit=MAX_NAME),
            t.lang,
        )
        return reprompt(session, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["name"] = text
    advance(outcome, t._("👤 Name: {name}").format(name=esc(text)))
    return outcome


def _phone_answer(session: Session, payload: object, t: Translator) -> Outcome:
    if isinstance(payload, ContactShared):
        if payload.owner != session.person.id:
            hint = t._("Please share your own number with the button, or type it.")
            return reprompt(session, hint)
        raw = payload.phone
    elif isinstance(payload, Text):
        raw = payload.text
    else:
        return reprompt(session, unsupported_hint(t, "other", PHONE))
    e164 = phones.check_bd_mobile(raw)
    if isinstance(e164, phones.Refusal):
        # Say what is wrong with it (length, prefix, country), as the booking does.
        return reprompt(session, phones.refusal_text(t, e164))
    outcome = Outcome(session.copy())
    outcome.session.data["phone"] = e164
    shown = localize_digits(phones.national_form(e164), t.lang)
    advance(outcome, t._("📞 Phone: {phone}").format(phone=shown))
    return outcome


def _location_answer(session: Session, payload: object, t: Translator) -> Outcome:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if isinstance(payload, Text) and payload.text.strip() in SKIP_LABELS:
        data["lat"], data["lon"] = None, None
        advance(outcome)
        return outcome
    if isinstance(payload, LocationShared):
        latitude, longitude = payload.latitude, payload.longitude
        finite = math.isfinite(latitude) and math.isfinite(longitude)
        if not (finite and -90 <= latitude <= 90 and -180 <= longitude <= 180):
            return reprompt(session, t._("That location could not be read. Please try again."))
        data["lat"], data["lon"] = latitude, longitude
        advance(outcome, t._("📍 Location received."))
        return outcome
    hint = t._("Please share your location with the button below, or tap “Skip”.")
    return reprompt(session, hint)


ANSWERS: dict[str, Callable[[Session, object, Translator], Outcome]] = {
    NAME: _name_answer,
    PHONE: _phone_answer,
    LOCATION: _location_answer,
}
