"""What each answer means at each step of the booking: the buttons pressed and the text typed."""

from __future__ import annotations

from collections.abc import Callable

from conversations import phone as phones
from conversations.booking.actions import GiveConsent, PlaceOrder, ShowPolicy
from conversations.booking.kept import KEEP, answer_so_far
from conversations.booking.prompts import (
    ADDRESS,
    AREA,
    AREA_OTHER,
    AREA_PAGES,
    CONSENT,
    EDITABLE,
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
    SUMMARY,
    TIME,
    area_page,
    button_hint,
    saved_address_fits,
    unsupported_hint,
)
from conversations.booking.steps import (
    advance,
    back,
    cancel,
    draft,
    first_missing,
    reprompt,
    send_prompt,
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
from conversations.common import consent_declined
from conversations.digits import localize_digits
from conversations.events import (
    ButtonPress,
    ContactShared,
    LocationShared,
    Text,
)
from conversations.i18n import Translator
from conversations.router import Outcome
from conversations.session import Context, Session
from conversations.slots import open_slots, parse_slot_button, slot_date
from conversations.text import ASCII_NUMBER, clean, esc, has_letters, one_line, too_long


def on_button(session: Session, press: ButtonPress, ctx: Context, t: Translator) -> Outcome:
    """Answer a press of one of the booking's buttons at the session's step."""
    parts = press.data.split(":")
    if len(parts) < 3 or parts[0] != PREFIX or parts[1] != session.step:
        hint = t._("That button belongs to an earlier message. Here is where we are:")
        return reprompt(session, ctx, hint)
    step, value, rest = parts[1], parts[2], parts[3:]
    if value == "back":
        return back(session, ctx)
    if value == KEEP:
        return _keep(session, ctx, t)
    if step == AREA and value == "page":
        return _area_page(session, rest, press.message_id, t)
    handler = _BUTTON_STEPS.get(step)
    outcome = handler(session, value, rest, ctx, t) if handler else None
    if outcome is None:
        return reprompt(session, ctx, button_hint(t))
    return outcome


def _keep(session: Session, ctx: Context, t: Translator) -> Outcome:
    # Going forward again after Back: the answer stays as it was given.
    if answer_so_far(session, ctx, t) is None:
        return reprompt(session, ctx, button_hint(t))
    outcome = Outcome(session.copy())
    outcome.session.data.pop("area_page", None)
    advance(outcome, ctx)
    return outcome


def _consent_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    if value == "yes":
        outcome = Outcome(session.copy())
        outcome.actions.append(GiveConsent(ctx.policy_version))
        outcome.reply.toast = t._("Thank you!")
        advance(outcome, ctx)
        return outcome
    if value == "no":
        new = session.copy()
        new.reset()
        outcome = Outcome(new)
        outcome.reply.send(consent_declined(t.lang, ctx))  # the contact, never an empty promise
        return outcome
    if value == "policy":
        # The caller sends the policy; the consent question is asked again after it.
        outcome = Outcome(session.copy(), actions=[ShowPolicy()])
        send_prompt(outcome, ctx)
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
    advance(outcome, ctx)
    return outcome


def _problem_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    if value != "skip":
        return None
    outcome = Outcome(session.copy())
    outcome.session.data["problem"] = None
    advance(outcome, ctx)
    return outcome


def _area_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if value == OTHER_AREA:
        outcome.session.step = AREA_OTHER
        send_prompt(outcome, ctx)
        return outcome
    if value not in AREAS_BY_SLUG:
        return None
    data["area"], data["area_other"] = value, None
    data.pop("area_page", None)
    outcome.reply.toast = area_label(value, t.lang)
    advance(outcome, ctx)
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
    if value != "saved" or not saved_address_fits(data):
        return None
    outcome = Outcome(session.copy())
    new = outcome.session.data
    new["address"], new["lat"], new["lon"] = (
        data.get("known_address"),
        data.get("known_lat"),
        data.get("known_lon"),
    )
    advance(outcome, ctx)
    return outcome


def _phone_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    known = session.data.get("known_phone")
    if value != "saved" or not known:
        return None
    outcome = Outcome(session.copy())
    outcome.session.data["phone"] = known
    advance(outcome, ctx)
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
    advance(outcome, ctx)
    return outcome


def _summary_button(
    session: Session, value: str, rest: list[str], ctx: Context, t: Translator
) -> Outcome | None:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if value == "confirm":
        placed = draft(session)
        if placed is None:
            # Should not happen (every step is required to reach the summary), but never
            # store half an order: send the customer to the first missing answer.
            return first_missing(session, ctx)
        outcome.session.reset()
        outcome.actions.append(PlaceOrder(placed))
        outcome.reply.toast = t._("Booking confirmed")
        return outcome
    if value == "cancel":
        return cancel(session)
    if value == "edit" and rest and rest[0] in EDITABLE:
        data.pop("edit_menu", None)
        data["editing"] = True
        outcome.session.step = rest[0]
        send_prompt(outcome, ctx)
        return outcome
    if value == "edit":
        data["edit_menu"] = True
        send_prompt(outcome, ctx)
        return outcome
    if value == "view":
        data.pop("edit_menu", None)
        send_prompt(outcome, ctx)
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


def _line_of(payload: object) -> str | None:
    # A one-line field (name, address, typed area): a line break in it would forge a line
    # ("Phone: ...") in the technician's card, so line breaks become spaces here.
    return one_line(payload.text) if isinstance(payload, Text) else None


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
            too_long(t.lang, MAX_PROBLEM),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["problem"] = text
    advance(outcome, ctx)
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
    text = _line_of(payload)
    if not text or not has_letters(text) or len(text) > MAX_AREA_NAME:
        return reprompt(session, ctx, t._("Please type just the name of your area."))
    outcome = Outcome(session.copy())
    outcome.session.data["area"], outcome.session.data["area_other"] = OTHER_AREA, text
    outcome.session.data.pop("area_page", None)
    advance(outcome, ctx)
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
        advance(outcome, ctx, t._("📍 Location received."))
        return outcome
    text = _line_of(payload)
    if not text or len(text) < MIN_ADDRESS or not has_letters(text):
        hint = t._("Please type the full address: house, road, area and a landmark.")
        return reprompt(session, ctx, hint)
    if len(text) > MAX_ADDRESS:
        hint = localize_digits(
            too_long(t.lang, MAX_ADDRESS),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    data["address"] = text
    data["lat"], data["lon"] = None, None
    advance(outcome, ctx, t._("🏠 Address saved."))
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
    e164 = phones.check_bd_mobile(raw)
    if not isinstance(e164, str):
        return reprompt(session, ctx, phones.refusal_text(t, e164))
    outcome = Outcome(session.copy())
    outcome.session.data["phone"] = e164
    shown = localize_digits(phones.national_form(e164), t.lang)
    advance(outcome, ctx, t._("📞 Phone: {phone}").format(phone=shown))
    return outcome


def _name_answer(session: Session, payload: object, ctx: Context, t: Translator) -> Outcome:
    text = _line_of(payload)
    if not text or not has_letters(text) or len(text) > MAX_NAME:
        hint = localize_digits(
            t._("Please type a name of up to {limit} characters.").format(limit=MAX_NAME),
            t.lang,
        )
        return reprompt(session, ctx, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["name"] = text
    advance(outcome, ctx, t._("👤 Name: {name}").format(name=esc(text)))
    return outcome


TEXT_STEPS: dict[str, Callable[[Session, object, Context, Translator], Outcome]] = {
    SERVICE: _service_text,
    PROBLEM: _problem_text,
    AREA: _area_text_answer,
    AREA_OTHER: _area_other_text,
    ADDRESS: _address_answer,
    PHONE: _phone_answer,
    NAME: _name_answer,
}
