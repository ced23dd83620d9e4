"""Technicians' self-registration: name, phone, services, areas, base location, summary.

A pure flow like the booking: :func:`start` and :func:`handle` take a session and an event
and return an :class:`~conversations.router.Outcome` (the new session, the messages to send, and a
:class:`SubmitApplication` for the caller to store as a pending technician and pass to the
operators). Also here: what an applicant and a technician are told about where they stand
(``/register`` again, the operators' decision, ``/available`` and ``/away``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from conversations import phone as phones
from conversations.booking_prompts import UNSUPPORTED_NAMES
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
    Command,
    ContactShared,
    Inbound,
    LocationShared,
    Text,
    Unsupported,
)
from conversations.i18n import LANGUAGES, N_, Translator, translator
from conversations.outbound import Button, Key, KeyKind, Outbound, Rows
from conversations.router import Flow, Outcome, register
from conversations.session import Context, Session
from conversations.text import ASCII_NUMBER, bold, clean, esc, has_letters, shorten

FLOW = "register"
#: ``t.me/<bot>?start=tech`` arrives as ``/start tech``.
DEEP_LINK = "tech"
PREFIX = "rg"

NAME = "name"
PHONE = "phone"
SERVICES_STEP = "services"
AREAS_STEP = "areas"
LOCATION = "location"
SUMMARY = "summary"

#: The order in which steps are asked; Back walks it backwards.
STEPS = (NAME, PHONE, SERVICES_STEP, AREAS_STEP, LOCATION, SUMMARY)
#: Steps answered through the reply keyboard (typed, a shared contact or a location pin).
KEYBOARD_STEPS = frozenset({NAME, PHONE, LOCATION})
AREAS_PER_PAGE = 8
MAX_NAME = 64

#: Button values (``rg:<step>:<value>[:<slug or page>]``).
TOGGLE = "t"
DONE = "done"
BACK = "back"
PAGE = "page"
SUBMIT = "submit"
CANCEL = "cancel"

#: Data of the buttons under an ``/available`` or ``/away`` answer.
AVAILABILITY_PREFIX = "av"
AVAILABLE_ON = f"{AVAILABILITY_PREFIX}:on"
AVAILABLE_OFF = f"{AVAILABILITY_PREFIX}:off"

#: Commands that mean something elsewhere: mid-registration they get "finish first".
_KNOWN_COMMANDS = frozenset(
    {"start", "book", "register", "jobs", "available", "away", "myorders", "cancel"}
)


@dataclass(frozen=True, slots=True)
class Application:
    """A submitted registration, ready to be stored as a pending technician."""

    lang: str
    name: str
    phone: str
    services: tuple[str, ...]
    areas: tuple[str, ...]
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class SubmitApplication:
    """Store ``application`` and send it to the operators."""

    application: Application


def button_data(step: str, *parts: str) -> str:
    """Return button data for ``step`` (``rg:areas:t:mirpur``); the step catches stale presses."""
    return ":".join((PREFIX, step, *parts))


def _t(session: Session) -> Translator:
    return translator(session.lang or "bn")


# --- entry points -------------------------------------------------------------------------


def start(session: Session, first_name: str | None) -> Outcome:
    """Begin a registration: say what is kept and why, then ask the name."""
    new = session.copy()
    new.flow, new.step, new.data = FLOW, NAME, {}
    if first_name and clean(first_name):
        new.data["first_name"] = shorten(clean(first_name), MAX_NAME)
    t = _t(new)
    intro = "\n".join(
        (
            bold(t._("Join Mistri Services as a technician")),
            t._(
                "We keep your name, mobile number, services, areas and (if you share it) your"
                " base location, to send you jobs. Our team checks every application."
                " Policy: /privacy"
            ),
            t._("Send /cancel at any time to stop."),
        )
    )
    outcome = Outcome(new)
    outcome.reply.send(Outbound(intro))
    _send_prompt(outcome)
    return outcome


def reprompt(session: Session, hint: str | None = None) -> Outcome:
    """Ask the current step again, after an optional hint."""
    outcome = Outcome(session.copy())
    if session.step not in STEPS:
        # A damaged session (never written by this module): start the questions over.
        outcome.session.step = NAME
    if hint:
        outcome.reply.send(Outbound(hint))
    _send_prompt(outcome)
    return outcome


def cancel(session: Session) -> Outcome:
    """Leave the registration; nothing typed so far is kept."""
    t = _t(session)
    new = session.copy()
    new.reset()
    outcome = Outcome(new)
    text = t._("Registration cancelled. Nothing was saved. Send /register to start again.")
    outcome.reply.send(Outbound(text, remove_keys=True))
    return outcome


def handle(session: Session, event: Inbound, ctx: Context | None = None) -> Outcome:
    """Answer one event at the session's current step."""
    t = _t(session)
    payload = event.payload
    if session.step not in STEPS:
        return reprompt(session)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return cancel(session)
        if payload.name in _KNOWN_COMMANDS:
            hint = t._("Let's finish your registration first, or send /cancel to stop it.")
        else:
            hint = t._("I don't know the command /{name}.").format(name=esc(payload.name[:32]))
        return reprompt(session, hint)
    if isinstance(payload, ButtonPress):
        return _on_button(session, payload, t)
    if isinstance(payload, Text) and payload.text.strip() in _BACK_LABELS:
        return _back(session)
    if isinstance(payload, Unsupported):
        return reprompt(session, _unsupported_hint(t, payload.kind, session.step))
    answer = _ANSWERS.get(session.step)
    if answer is None:
        return reprompt(session, _button_hint(t))
    return answer(session, payload, t)


# --- prompts --------------------------------------------------------------------------------


def _enter(outcome: Outcome, step: str, ack: str | None = None) -> None:
    """Move to ``step`` and ask it; the reply keyboard goes away when the new step has none."""
    previous = outcome.session.step
    outcome.session.step = step
    t = _t(outcome.session)
    leaving_keys = previous in KEYBOARD_STEPS and step not in KEYBOARD_STEPS
    if ack or leaving_keys:
        outcome.reply.send(Outbound(ack or t._("OK."), remove_keys=leaving_keys))
    _send_prompt(outcome)


def _send_prompt(outcome: Outcome) -> None:
    session = outcome.session
    outcome.reply.effects.extend(_PROMPTS[session.step](session, _t(session)))


def _step_counter(t: Translator, step: str) -> str:
    total = len(STEPS) - 1
    text = t._("Step {n} of {total}").format(n=STEPS.index(step) + 1, total=total)
    return localize_digits(text, t.lang)


def _back_button(t: Translator, step: str) -> Button:
    return Button(t._("◀ Back"), button_data(step, BACK))


def _prompt_name(session: Session, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            _step_counter(t, NAME),
            bold(t._("What is your full name?")),
            t._("Customers see it when you take their job. Tap your name below or type it."),
        )
    )
    suggestion = session.data.get("first_name")
    if suggestion:
        return [Outbound(text, keys=((Key(str(suggestion)),),))]
    return [Outbound(text, remove_keys=True)]


def _prompt_phone(session: Session, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            _step_counter(t, PHONE),
            bold(t._("Your mobile number?")),
            t._("Tap the button to share it, or type it (e.g. 01712345678)."),
        )
    )
    keys = ((Key(t._("📱 Share my number"), KeyKind.CONTACT),), (Key(t._("◀ Back")),))
    return [Outbound(text, keys=keys)]


def _chosen(session: Session, key: str) -> list[str]:
    value = session.data.get(key)
    return [str(item) for item in value] if isinstance(value, list) else []


def _services_text(t: Translator) -> str:
    return "\n".join(
        (
            _step_counter(t, SERVICES_STEP),
            bold(t._("Which services do you offer?")),
            t._("Tap each one you do (✓ marks your choice), then “Done”."),
        )
    )


def _services_buttons(t: Translator, chosen: list[str]) -> Rows:
    picks = [
        Button(
            ("✓ " if service.slug in chosen else "") + service.icon + " " + service.label(t.lang),
            button_data(SERVICES_STEP, TOGGLE, service.slug),
        )
        for service in SERVICES
    ]
    rows: list[tuple[Button, ...]] = [tuple(picks[i : i + 2]) for i in range(0, len(picks), 2)]
    rows.append((Button(t._("Done ✅"), button_data(SERVICES_STEP, DONE)),))
    rows.append((_back_button(t, SERVICES_STEP),))
    return tuple(rows)


def _prompt_services(session: Session, t: Translator) -> list[Outbound]:
    buttons = _services_buttons(t, _chosen(session, "services"))
    return [Outbound(_services_text(t), buttons=buttons)]


def _area_pages() -> int:
    return (len(AREAS) + AREAS_PER_PAGE - 1) // AREAS_PER_PAGE


def _areas_text(t: Translator, chosen: list[str]) -> str:
    if ALL_AREAS in chosen:
        shown = t._("all areas")
    elif chosen:
        shown = esc(", ".join(area_label(slug, t.lang) for slug in chosen))
    else:
        shown = "—"
    return "\n".join(
        (
            _step_counter(t, AREAS_STEP),
            bold(t._("Which areas of Dhaka do you work in?")),
            t._(
                "Tap each area (✓ marks your choice; “More” shows the next page), or “All"
                " areas”. Then “Done”."
            ),
            t._("Chosen") + ": " + shown,
        )
    )


def _areas_buttons(t: Translator, chosen: list[str], page: int) -> Rows:
    page = max(0, min(page, _area_pages() - 1))
    chunk = AREAS[page * AREAS_PER_PAGE : (page + 1) * AREAS_PER_PAGE]
    picks = [
        Button(
            ("✓ " if area.slug in chosen else "") + area.label(t.lang),
            button_data(AREAS_STEP, TOGGLE, area.slug),
        )
        for area in chunk
    ]
    rows: list[tuple[Button, ...]] = [tuple(picks[i : i + 2]) for i in range(0, len(picks), 2)]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button(t._("◀ Previous"), button_data(AREAS_STEP, PAGE, str(page - 1))))
    counter = localize_digits(f"{page + 1}/{_area_pages()}", t.lang)
    nav.append(Button(counter, button_data(AREAS_STEP, PAGE, str(page))))
    if page < _area_pages() - 1:
        nav.append(Button(t._("More ▶"), button_data(AREAS_STEP, PAGE, str(page + 1))))
    rows.append(tuple(nav))
    every = ("✓ " if ALL_AREAS in chosen else "") + t._("🌐 All areas")
    rows.append((Button(every, button_data(AREAS_STEP, ALL_AREAS)),))
    rows.append(
        (
            Button(t._("Done ✅"), button_data(AREAS_STEP, DONE)),
            _back_button(t, AREAS_STEP),
        )
    )
    return tuple(rows)


def _area_page(session: Session) -> int:
    page = session.data.get("area_page", 0)
    return page if isinstance(page, int) else 0


def _prompt_areas(session: Session, t: Translator) -> list[Outbound]:
    chosen = _chosen(session, "areas")
    buttons = _areas_buttons(t, chosen, _area_page(session))
    return [Outbound(_areas_text(t, chosen), buttons=buttons)]


def _prompt_location(session: Session, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            _step_counter(t, LOCATION),
            bold(t._("Where do you usually start from? (optional)")),
            t._("Share a location pin of your base with the button below, or tap “Skip”."),
            t._(
                "A pin is your precise location, which is sensitive: we use it only to send"
                " you jobs near you, and never show it to customers."
            ),
        )
    )
    keys = (
        (Key(t._("📍 Share location"), KeyKind.LOCATION),),
        (Key(t._("Skip ▶")),),
        (Key(t._("◀ Back")),),
    )
    return [Outbound(text, keys=keys)]


def _prompt_summary(session: Session, t: Translator) -> list[Outbound]:
    buttons: Rows = (
        (Button(t._("✅ Submit"), button_data(SUMMARY, SUBMIT)),),
        (
            _back_button(t, SUMMARY),
            Button(t._("✖ Cancel"), button_data(SUMMARY, CANCEL)),
        ),
    )
    return [Outbound(summary_text(session.data, t), buttons=buttons)]


def summary_text(data: dict[str, object], t: Translator) -> str:
    """Render the answers collected so far as the summary the applicant submits."""
    lang = t.lang
    phone = data.get("phone")
    services = data.get("services")
    areas = data.get("areas")
    service_names = (
        ", ".join(service_label(str(slug), lang) for slug in services)
        if isinstance(services, list) and services
        else "—"
    )
    if isinstance(areas, list) and ALL_AREAS in areas:
        area_names = t._("all areas")
    elif isinstance(areas, list) and areas:
        area_names = esc(", ".join(area_label(str(slug), lang) for slug in areas))
    else:
        area_names = "—"
    located = data.get("lat") is not None
    lines = [
        bold(t._("Please check your application")),
        "",
        t._("Name") + ": " + esc(shorten(str(data.get("name") or "—"), MAX_NAME)),
        t._("Phone")
        + ": "
        + (localize_digits(phones.national_form(str(phone)), lang) if phone else "—"),
        t._("Services") + ": " + esc(service_names),
        t._("Areas") + ": " + area_names,
        t._("Base location") + ": " + (t._("📍 location pin") if located else "—"),
        "",
        t._("After you submit, our team checks your application and tells you here."),
    ]
    return "\n".join(lines)


_PROMPTS: dict[str, Callable[[Session, Translator], list[Outbound]]] = {
    NAME: _prompt_name,
    PHONE: _prompt_phone,
    SERVICES_STEP: _prompt_services,
    AREAS_STEP: _prompt_areas,
    LOCATION: _prompt_location,
    SUMMARY: _prompt_summary,
}


# --- answers -------------------------------------------------------------------------------


def _advance(outcome: Outcome, ack: str | None = None) -> None:
    step = outcome.session.step
    _enter(outcome, STEPS[STEPS.index(step) + 1], ack)


def _back(session: Session) -> Outcome:
    index = STEPS.index(session.step)
    if index == 0:
        # Nothing before the first question: ask it again (/cancel leaves).
        return reprompt(
            session, _t(session)._("This is the first question. Send /cancel to stop.")
        )
    outcome = Outcome(session.copy())
    _enter(outcome, STEPS[index - 1])
    return outcome


_BACK_LABELS = frozenset(translator(lang)._("◀ Back") for lang in LANGUAGES) | {"◀ Back"}
_SKIP_LABELS = frozenset(translator(lang)._("Skip ▶") for lang in LANGUAGES) | {"Skip ▶"}


def _on_button(session: Session, press: ButtonPress, t: Translator) -> Outcome:
    parts = press.data.split(":")
    if len(parts) < 3 or parts[0] != PREFIX or parts[1] != session.step:
        hint = t._("That button belongs to an earlier message. Here is where we are:")
        return reprompt(session, hint)
    step, value, rest = parts[1], parts[2], parts[3:]
    if value == BACK and not rest:
        return _back(session)
    outcome: Outcome | None = None
    if step == SERVICES_STEP:
        outcome = _services_button(session, value, rest, press.message_id, t)
    elif step == AREAS_STEP:
        outcome = _areas_button(session, value, rest, press.message_id, t)
    elif step == SUMMARY and not rest:
        outcome = _summary_button(session, value, t)
    return outcome or reprompt(session, _button_hint(t))


def _toggled(chosen: list[str], slug: str) -> tuple[list[str], bool]:
    """Return ``chosen`` with ``slug`` added or removed, and whether it is in now."""
    if slug in chosen:
        return [item for item in chosen if item != slug], False
    return [*chosen, slug], True


def _services_button(
    session: Session, value: str, rest: list[str], message_id: str | None, t: Translator
) -> Outcome | None:
    chosen = _chosen(session, "services")
    if value == DONE and not rest:
        if not chosen:
            return reprompt(session, t._("Please choose at least one service."))
        outcome = Outcome(session.copy())
        _advance(outcome)
        return outcome
    if value != TOGGLE or len(rest) != 1 or rest[0] not in SERVICES_BY_SLUG:
        return None
    slug = rest[0]
    chosen, added = _toggled(chosen, slug)
    # Keep the catalogue's order, whatever the order of the taps.
    chosen = [service.slug for service in SERVICES if service.slug in chosen]
    outcome = Outcome(session.copy())
    outcome.session.data["services"] = chosen
    outcome.reply.toast = ("✓ " if added else "✖ ") + service_label(slug, t.lang)
    # Marked in place: the same message is edited rather than a new one sent per tap.
    outcome.reply.send(
        Outbound(
            _services_text(t),
            buttons=_services_buttons(t, chosen),
            replaces=message_id,
        )
    )
    return outcome


def _areas_button(
    session: Session, value: str, rest: list[str], message_id: str | None, t: Translator
) -> Outcome | None:
    chosen = _chosen(session, "areas")
    page = _area_page(session)
    if value == DONE and not rest:
        if not chosen:
            return reprompt(session, t._("Please choose at least one area, or “All areas”."))
        outcome = Outcome(session.copy())
        outcome.session.data.pop("area_page", None)
        _advance(outcome)
        return outcome
    if value == PAGE and len(rest) == 1 and ASCII_NUMBER.fullmatch(rest[0]):
        page = max(0, min(int(rest[0]), _area_pages() - 1))
        toast = None
    elif value == ALL_AREAS and not rest:
        # "All areas" stands alone: it covers every area, and the list in it means nothing.
        added = ALL_AREAS not in chosen
        chosen = [ALL_AREAS] if added else []
        toast = ("✓ " if added else "✖ ") + t._("🌐 All areas")
    elif value == TOGGLE and len(rest) == 1 and rest[0] in AREAS_BY_SLUG:
        slug = rest[0]
        chosen, added = _toggled([item for item in chosen if item != ALL_AREAS], slug)
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
            _areas_text(t, chosen),
            buttons=_areas_buttons(t, chosen, page),
            replaces=message_id,
        )
    )
    return outcome


def _summary_button(session: Session, value: str, t: Translator) -> Outcome | None:
    if value == CANCEL:
        return cancel(session)
    if value != SUBMIT:
        return None
    application = _application(session)
    if application is None:
        # Should not happen (every step is required to reach the summary), but never store
        # half an application: go back to the first missing answer.
        return _first_missing(session)
    new = session.copy()
    new.reset()
    outcome = Outcome(new, actions=[SubmitApplication(application)])
    outcome.reply.toast = t._("Application sent")
    return outcome


def _name_answer(session: Session, payload: object, t: Translator) -> Outcome:
    text = clean(payload.text) if isinstance(payload, Text) else ""
    if not text or not has_letters(text) or len(text) > MAX_NAME:
        hint = localize_digits(
            t._("Please type a name of up to {limit} characters.").format(limit=MAX_NAME),
            t.lang,
        )
        return reprompt(session, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["name"] = text
    _advance(outcome, t._("👤 Name: {name}").format(name=esc(text)))
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
        return reprompt(session, _unsupported_hint(t, "other", PHONE))
    e164 = phones.parse_bd_mobile(raw)
    if e164 is None:
        hint = localize_digits(
            t._(
                "That does not look like a Bangladeshi mobile number. Please send 11 digits"
                " starting with 01, e.g. 01712345678."
            ),
            t.lang,
        )
        return reprompt(session, hint)
    outcome = Outcome(session.copy())
    outcome.session.data["phone"] = e164
    shown = localize_digits(phones.national_form(e164), t.lang)
    _advance(outcome, t._("📞 Phone: {phone}").format(phone=shown))
    return outcome


def _location_answer(session: Session, payload: object, t: Translator) -> Outcome:
    outcome = Outcome(session.copy())
    data = outcome.session.data
    if isinstance(payload, Text) and payload.text.strip() in _SKIP_LABELS:
        data["lat"], data["lon"] = None, None
        _advance(outcome)
        return outcome
    if isinstance(payload, LocationShared):
        latitude, longitude = payload.latitude, payload.longitude
        finite = math.isfinite(latitude) and math.isfinite(longitude)
        if not (finite and -90 <= latitude <= 90 and -180 <= longitude <= 180):
            return reprompt(session, t._("That location could not be read. Please try again."))
        data["lat"], data["lon"] = latitude, longitude
        _advance(outcome, t._("📍 Location received."))
        return outcome
    hint = t._("Please share your location with the button below, or tap “Skip”.")
    return reprompt(session, hint)


_ANSWERS: dict[str, Callable[[Session, object, Translator], Outcome]] = {
    NAME: _name_answer,
    PHONE: _phone_answer,
    LOCATION: _location_answer,
}


def _button_hint(t: Translator) -> str:
    return t._("Please use the buttons below.")


def _unsupported_hint(t: Translator, kind: str, step: str) -> str:
    what = t._(UNSUPPORTED_NAMES.get(kind, N_("that")))
    if step in KEYBOARD_STEPS:
        return t._("I can't use {what} here. Please answer in text.").format(what=what)
    return t._("I can't use {what} here. Please use the buttons below.").format(what=what)


# --- submitting ------------------------------------------------------------------------------


def _application(session: Session) -> Application | None:
    data = session.data
    services, areas = _valid_services(session), _valid_areas(session)
    name, phone = data.get("name"), data.get("phone")
    if not (isinstance(name, str) and name and isinstance(phone, str) and phone):
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


def _valid_services(session: Session) -> tuple[str, ...]:
    return tuple(slug for slug in _chosen(session, "services") if slug in SERVICES_BY_SLUG)


def _valid_areas(session: Session) -> tuple[str, ...]:
    chosen = _chosen(session, "areas")
    return tuple(slug for slug in chosen if slug in AREAS_BY_SLUG or slug == ALL_AREAS)


def _first_missing(session: Session) -> Outcome:
    data = session.data
    outcome = Outcome(session.copy())
    if not data.get("name"):
        target = NAME
    elif not data.get("phone"):
        target = PHONE
    elif not _valid_services(session):
        target = SERVICES_STEP
    elif not _valid_areas(session):
        target = AREAS_STEP
    else:
        target = LOCATION
    _enter(outcome, target)
    return outcome


# --- where an applicant or a technician stands -----------------------------------------------


def submitted(lang: str) -> Outbound:
    """After Submit: the application is with the team."""
    t = translator(lang)
    text = "\n".join(
        (
            "📨 " + bold(t._("Application sent.")),
            t._(
                "Our team will check it, usually within a working day, and tell you here."
                " Until then you get no job offers."
            ),
        )
    )
    return Outbound(text)


def pending(lang: str) -> Outbound:
    """Said to an applicant whose application waits for the operators."""
    t = translator(lang)
    text = t._("Your technician application is being checked. We will tell you here.")
    return Outbound(text)


def already_registered(lang: str, *, available: bool) -> Outbound:
    """Said to an approved technician who sends /register (or opens the link) again."""
    t = translator(lang)
    lines = [
        t._("You are already registered as a technician."),
        _state_line(t, available),
        t._("/jobs shows your jobs; /away pauses new offers and /available resumes them."),
    ]
    return Outbound("\n".join(lines))


def approved(lang: str) -> Outbound:
    """Told to an applicant the operators approved."""
    t = translator(lang)
    text = "\n".join(
        (
            "✅ " + bold(t._("Your technician application is approved. Welcome!")),
            t._(
                "From now on you get job offers here for the services and areas you chose;"
                " accept one to see the customer's contact."
            ),
            t._("/jobs shows your jobs; /away pauses new offers and /available resumes them."),
        )
    )
    return Outbound(text)


def rejected(lang: str) -> Outbound:
    """Told to an applicant the operators turned down."""
    t = translator(lang)
    text = t._(
        "Sorry, your technician application was not approved. If you think this is a mistake,"
        " write to us here; you can also send /register to apply again."
    )
    return Outbound(text)


def finish_booking_first(lang: str) -> Outbound:
    """Said when /register arrives in the middle of a booking."""
    t = translator(lang)
    text = t._("You have a booking in progress. Finish it or send /cancel, then send /register.")
    return Outbound(text)


def in_progress(lang: str) -> str:
    """The hint before the current question when /register arrives mid-registration."""
    return translator(lang)._("Your registration is in progress; let's continue.")


def _state_line(t: Translator, available: bool) -> str:
    if available:
        return "🟢 " + t._("You are available: new jobs are offered to you.")
    return "⏸ " + t._("You are away: no new jobs are offered to you.")


def availability(
    lang: str, *, available: bool, active: bool, message_id: str | None = None
) -> Outbound:
    """The answer to /available, /away or their button: the state now, and the other switch."""
    t = translator(lang)
    lines = [bold(_state_line(t, available))]
    if available:
        lines.append(t._("Send /away (or tap below) when you cannot take jobs."))
        button = Button(t._("⏸ Go away"), AVAILABLE_OFF)
    else:
        lines.append(
            t._("Jobs you already accepted stay yours. Send /available (or tap below) to resume.")
        )
        button = Button(t._("🟢 I'm available"), AVAILABLE_ON)
    if not active:
        lines.append(t._("Note: our team has paused your offers for now; please contact them."))
    return Outbound("\n".join(lines), buttons=((button,),), replaces=message_id)


def parse_availability(data: str) -> bool | None:
    """Return True for the "available" button, False for "away", None for anything else."""
    if data == AVAILABLE_ON:
        return True
    if data == AVAILABLE_OFF:
        return False
    return None


def only_technicians(lang: str) -> Outbound:
    """Said to someone who is not a technician when they send /available or /away."""
    t = translator(lang)
    text = t._(
        "/available and /away are for registered technicians. To join as one, send /register."
    )
    return Outbound(text)


#: Commands answered aside mid-registration (then the step is asked again); others go to it.
INTERRUPTED_BY = frozenset({"help", "privacy", "myorders", "mydata", "language", "deleteme"})
#: Buttons of others that still work mid-registration; any other button is stale here.
BUTTONS_ASIDE = frozenset({"lang", "dr", "rt", "ord", "av", "job"})

SPEC = register(
    Flow(
        name=FLOW,
        handle=handle,
        reprompt=lambda session, ctx: reprompt(session),
        prefix=PREFIX,
        commands=frozenset({"register"}),
        interrupted_by=INTERRUPTED_BY,
        buttons_aside=BUTTONS_ASIDE,
    )
)

__all__ = [
    "FLOW",
    "SPEC",
    "Application",
    "Outcome",
    "SubmitApplication",
    "already_registered",
    "approved",
    "availability",
    "cancel",
    "handle",
    "only_technicians",
    "parse_availability",
    "pending",
    "rejected",
    "reprompt",
    "start",
    "submitted",
]
