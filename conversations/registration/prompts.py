"""What a registration asks at each step, and the hints between the questions."""

from __future__ import annotations

from collections.abc import Callable

from conversations import phone as phones
from conversations.booking.prompts import UNSUPPORTED_NAMES
from conversations.catalogue import (
    ALL_AREAS,
    AREAS,
    SERVICES,
    area_label,
    service_label,
)
from conversations.digits import localize_digits
from conversations.i18n import N_, Translator, translator
from conversations.outbound import Button, Key, KeyKind, Outbound, Rows
from conversations.session import Session
from conversations.text import bold, esc, one_line, shorten

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
KNOWN_COMMANDS = frozenset(
    {"start", "book", "register", "jobs", "available", "away", "myorders", "cancel"}
)


def button_data(step: str, *parts: str) -> str:
    """Return button data for ``step`` (``rg:areas:t:mirpur``); the step catches stale presses."""
    return ":".join((PREFIX, step, *parts))


def session_translator(session: Session) -> Translator:
    """The translator of the session's language."""
    return translator(session.lang or "bn")


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
        return [Outbound(text, keys=((Key(one_line(str(suggestion))),),))]
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


def chosen_in(session: Session, key: str) -> list[str]:
    """The slugs ticked so far under ``key`` (services or areas)."""
    value = session.data.get(key)
    return [str(item) for item in value] if isinstance(value, list) else []


def services_text(t: Translator) -> str:
    """The services question."""
    return "\n".join(
        (
            _step_counter(t, SERVICES_STEP),
            bold(t._("Which services do you offer?")),
            t._("Tap each one you do (✓ marks your choice), then “Done”."),
        )
    )


def services_buttons(t: Translator, chosen: list[str]) -> Rows:
    """Every service as a button, those chosen ticked."""
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
    buttons = services_buttons(t, chosen_in(session, "services"))
    return [Outbound(services_text(t), buttons=buttons)]


def area_pages() -> int:
    """How many pages the areas take."""
    return (len(AREAS) + AREAS_PER_PAGE - 1) // AREAS_PER_PAGE


def areas_text(t: Translator, chosen: list[str], page: int = 0) -> str:
    """The areas question, with the page shown and the areas chosen so far."""
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
            # The page counter is said here, not on a button that would do nothing.
            localize_digits(
                t._("Areas, page {page} of {pages}").format(
                    page=max(0, min(page, area_pages() - 1)) + 1, pages=area_pages()
                ),
                t.lang,
            ),
            t._("Chosen") + ": " + shown,
        )
    )


def areas_buttons(t: Translator, chosen: list[str], page: int) -> Rows:
    """One page of areas as buttons, those chosen ticked."""
    page = max(0, min(page, area_pages() - 1))
    chunk = AREAS[page * AREAS_PER_PAGE : (page + 1) * AREAS_PER_PAGE]
    picks = [
        Button(
            ("✓ " if area.slug in chosen else "") + area.label(t.lang),
            button_data(AREAS_STEP, TOGGLE, area.slug),
        )
        for area in chunk
    ]
    rows: list[tuple[Button, ...]] = [tuple(picks[i : i + 2]) for i in range(0, len(picks), 2)]
    # One Back: the previous page, or the previous step from the first page; one More.
    back = (
        Button(t._("◀ Back"), button_data(AREAS_STEP, PAGE, str(page - 1)))
        if page > 0
        else _back_button(t, AREAS_STEP)
    )
    if page < area_pages() - 1:
        rows.append((Button(t._("More ▶"), button_data(AREAS_STEP, PAGE, str(page + 1))),))
    every = ("✓ " if ALL_AREAS in chosen else "") + t._("🌐 All areas")
    rows.append((Button(every, button_data(AREAS_STEP, ALL_AREAS)),))
    rows.append((Button(t._("Done ✅"), button_data(AREAS_STEP, DONE)), back))
    return tuple(rows)


def area_page_of(session: Session) -> int:
    """The page of areas the session shows."""
    page = session.data.get("area_page", 0)
    return page if isinstance(page, int) else 0


def _prompt_areas(session: Session, t: Translator) -> list[Outbound]:
    chosen = chosen_in(session, "areas")
    buttons = areas_buttons(t, chosen, area_page_of(session))
    return [Outbound(areas_text(t, chosen, area_page_of(session)), buttons=buttons)]


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
        t._("Name") + ": " + esc(shorten(one_line(str(data.get("name") or "—")), MAX_NAME)),
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


PROMPTS: dict[str, Callable[[Session, Translator], list[Outbound]]] = {
    NAME: _prompt_name,
    PHONE: _prompt_phone,
    SERVICES_STEP: _prompt_services,
    AREAS_STEP: _prompt_areas,
    LOCATION: _prompt_location,
    SUMMARY: _prompt_summary,
}


def button_hint(t: Translator) -> str:
    """The hint for a typed answer where a button is expected."""
    return t._("Please use the buttons below.")


def unsupported_hint(t: Translator, kind: str, step: str) -> str:
    """The hint for a sticker, photo or the like at ``step``."""
    what = t._(UNSUPPORTED_NAMES.get(kind, N_("that")))
    if step in KEYBOARD_STEPS:
        return t._("I can't use {what} here. Please answer in text.").format(what=what)
    return t._("I can't use {what} here. Please use the buttons below.").format(what=what)
