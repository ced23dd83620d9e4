"""The booking's questions: one prompt per step, the summary, and the hints between them.

What the customer is asked at each step of :mod:`conversations.booking` (the flow itself:
which step comes next and what an answer means), in either language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from conversations import phone as phones
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
from conversations.i18n import N_, Translator, translator
from conversations.outbound import Button, Key, KeyKind, Outbound, Rows
from conversations.session import Context, Session
from conversations.slots import format_visit, slot_button_key, slot_label, slot_rows, time_note
from conversations.text import bold, esc, esc_line, labelled_text, one_line, shorten

CONSENT = "consent"
SERVICE = "service"
PROBLEM = "problem"
AREA = "area"
AREA_OTHER = "area_other"
ADDRESS = "address"
PHONE = "phone"
NAME = "name"
TIME = "time"
SUMMARY = "summary"

#: The order in which steps are asked; Back walks it backwards.
STEPS = (CONSENT, SERVICE, PROBLEM, AREA, ADDRESS, PHONE, NAME, TIME, SUMMARY)
#: Steps whose answer is typed or shared through the reply keyboard.
KEYBOARD_STEPS = frozenset({ADDRESS, PHONE, NAME})
#: Steps the summary's Edit can jump back to.
EDITABLE = (SERVICE, PROBLEM, AREA, ADDRESS, PHONE, NAME, TIME)

PREFIX = "bk"
AREAS_PER_PAGE = 8
AREA_PAGES = (len(AREAS) + AREAS_PER_PAGE - 1) // AREAS_PER_PAGE
MAX_PROBLEM = 500
MAX_ADDRESS = 300
MIN_ADDRESS = 5
#: How much of a long answer the summary repeats: escaped, it must still fit one message.
SUMMARY_ECHO = 200
MAX_NAME = 64
MAX_AREA_NAME = 60

FIELD_NAMES = {
    SERVICE: N_("Service"),
    PROBLEM: N_("Problem"),
    AREA: N_("Area"),
    ADDRESS: N_("Address"),
    PHONE: N_("Phone"),
    NAME: N_("Name"),
    TIME: N_("Visit"),
}
UNSUPPORTED_NAMES = {
    "sticker": N_("a sticker"),
    "photo": N_("a photo"),
    "voice": N_("a voice message"),
    "video": N_("a video"),
    "document": N_("a file"),
    "audio": N_("an audio file"),
    "animation": N_("a GIF"),
    "poll": N_("a poll"),
}


def button_data(step: str, *parts: str) -> str:
    """Return button data for ``step`` (``bk:area:mirpur``); the step catches stale presses."""
    return ":".join((PREFIX, step, *parts))


def prompt(session: Session, ctx: Context) -> list[Outbound]:
    """Return the messages that ask the session's current step."""
    return _PROMPTS[session.step](session, ctx, translator(session.lang or "bn"))


def _back_button(t: Translator, step: str) -> Button:
    return Button(t._("◀ Back"), button_data(step, "back"))


def _step_counter(t: Translator, step: str) -> str:
    # Consent is not a question about the job: number the job's steps only.
    number = STEPS.index(step)
    total = len(STEPS) - 2
    return localize_digits(t._("Step {n} of {total}").format(n=number, total=total), t.lang)


def _prompt_consent(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            t._("<b>Before we start</b>"),
            t._(
                "To send a technician we need your name, mobile number, address (or a"
                " location pin) and a few words about the job."
            ),
            t._(
                "Only the technician who takes your job sees your contact; we never sell"
                " data. Full policy: /privacy"
            ),
            "",
            t._("Do you agree?"),
        )
    )
    buttons: Rows = (
        (Button(t._("✅ I agree"), button_data(CONSENT, "yes")),),
        (
            Button(t._("📄 Read the policy"), button_data(CONSENT, "policy")),
            Button(t._("✖ No, thanks"), button_data(CONSENT, "no")),
        ),
    )
    return [Outbound(text, buttons=buttons)]


def _prompt_service(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    buttons = [
        Button(f"{service.icon} {service.label(t.lang)}", button_data(SERVICE, service.slug))
        for service in SERVICES
    ]
    rows: Rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    text = _step_counter(t, SERVICE) + "\n" + bold(t._("Which service do you need?"))
    return [Outbound(text, buttons=rows)]


def _prompt_problem(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    service = SERVICES_BY_SLUG.get(str(session.data.get("service")), SERVICES[-1])
    # The example fits the service chosen: no leaking tap for an air conditioner.
    example = localize_digits(service.example_in(t.lang), t.lang)
    text = "\n".join(
        (
            _step_counter(t, PROBLEM),
            bold(t._("What is the problem?")),
            t._("Describe it in your own words, e.g. “{example}”. Or tap Skip.").format(
                example=example
            ),
        )
    )
    rows: Rows = ((Button(t._("Skip ▶"), button_data(PROBLEM, "skip")), _back_button(t, PROBLEM)),)
    return [Outbound(text, buttons=rows)]


def _prompt_area(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    page = session.data.get("area_page")
    if page is None:
        # Back at the area with one chosen: open the page that holds it.
        chosen = AREAS_BY_SLUG.get(str(session.data.get("area")))
        page = AREAS.index(chosen) // AREAS_PER_PAGE if chosen else 0
    return [area_page(t, int(page))]


def area_page(t: Translator, page: int, replaces: str | None = None) -> Outbound:
    """The area question with one page of areas (``replaces`` the page it turns from)."""
    page = max(0, min(page, AREA_PAGES - 1))
    return Outbound(_area_text(t, page), buttons=_area_buttons(t, page), replaces=replaces)


def _area_text(t: Translator, page: int) -> str:
    counter = t._("Areas, page {page} of {pages}").format(page=page + 1, pages=AREA_PAGES)
    return "\n".join(
        (
            _step_counter(t, AREA),
            bold(t._("Which area of Dhaka is the job in?")),
            t._("Not in the list? Tap “Other area” and type it."),
            localize_digits(counter, t.lang),
        )
    )


def _area_buttons(t: Translator, page: int) -> Rows:
    chunk = AREAS[page * AREAS_PER_PAGE : (page + 1) * AREAS_PER_PAGE]
    picks = [Button(area.label(t.lang), button_data(AREA, area.slug)) for area in chunk]
    rows: list[tuple[Button, ...]] = [tuple(picks[i : i + 2]) for i in range(0, len(picks), 2)]
    # One Back: the page before, or the step before from the first page. One way on.
    back = button_data(AREA, "page", str(page - 1)) if page > 0 else button_data(AREA, "back")
    nav = [Button(t._("◀ Back"), back)]
    if page < AREA_PAGES - 1:
        nav.append(Button(t._("More ▶"), button_data(AREA, "page", str(page + 1))))
    rows.append(tuple(nav))
    rows.append((Button(t._("✏️ Other area"), button_data(AREA, OTHER_AREA)),))
    return tuple(rows)


def _prompt_area_other(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    text = t._("Type the name of your area (for example “Aftabnagar”).")
    return [Outbound(text, buttons=((_back_button(t, AREA_OTHER),),))]


def _prompt_address(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    lines = [
        _step_counter(t, ADDRESS),
        bold(t._("What is the full address?")),
        t._("House, road, block and a landmark. Or share a location pin with the button below."),
        t._(
            "A pin is your precise location: we use it only to guide the technician who takes"
            " the job."
        ),
    ]
    keys = ((Key(t._("📍 Share location"), KeyKind.LOCATION),), (Key(t._("◀ Back")),))
    messages = [Outbound("\n".join(lines), keys=keys)]
    known = session.data.get("known_address")
    known_lat = session.data.get("known_lat")
    answered = session.data.get("address") or session.data.get("lat") is not None
    if saved_address_fits(session.data) and not answered:
        # One message carries one keyboard: the saved-address offer comes as a second one.
        saved = t._("Or use your saved address: {address}").format(
            address=address_text(t, known, known_lat)
        )
        button = Button(t._("✅ Use saved address"), button_data(ADDRESS, "saved"))
        messages.append(Outbound(saved, buttons=((button,),)))
    return messages


def saved_address_fits(data: dict[str, object]) -> bool:
    """Tell whether the saved address is one for the area of this booking."""
    if not (data.get("known_address") or data.get("known_lat") is not None):
        return False
    # A Mirpur address is no use for a Dhanmondi job: only the same area's address is offered,
    # and one whose area is unknown (changed since its last order) is not.
    if not data.get("known_area") or data.get("known_area") != data.get("area"):
        return False
    if data.get("area") != OTHER_AREA:
        return True
    typed, saved = data.get("area_other"), data.get("known_area_other")
    return bool(typed and saved) and str(typed).casefold() == str(saved).casefold()


def _prompt_phone(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    lines = [
        _step_counter(t, PHONE),
        bold(t._("Your mobile number?")),
        t._("Tap the button to share it, or type it (e.g. 01712345678)."),
    ]
    own = phones.check_bd_mobile(ctx.sender_phone) if ctx.sender_phone else None
    share = t._("📱 Share my number")
    if isinstance(own, str):
        # The channel knows the sender's number (WhatsApp): one tap offers it, masked.
        share = t._("📱 Use {phone}").format(phone=localize_digits(phones.mask(own), t.lang))
    keys = ((Key(share, KeyKind.CONTACT),), (Key(t._("◀ Back")),))
    messages = [Outbound("\n".join(lines), keys=keys)]
    known = session.data.get("known_phone")
    if known and not session.data.get("phone") and known != own:
        masked = localize_digits(phones.mask(known), t.lang)
        button = Button(t._("✅ Use {phone}").format(phone=masked), button_data(PHONE, "saved"))
        messages.append(Outbound(t._("Or use your saved number:"), buttons=((button,),)))
    return messages


def _prompt_name(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            _step_counter(t, NAME),
            bold(t._("What name should the technician ask for?")),
            t._("Tap your name below or type another."),
        )
    )
    data = session.data
    suggestion = data.get("name") or data.get("known_name") or data.get("first_name")
    rows: list[tuple[Key, ...]] = []
    if suggestion:
        rows.append((Key(shorten(one_line(suggestion), MAX_NAME)),))
    rows.append((Key(t._("◀ Back")),))
    return [Outbound(text, keys=tuple(rows))]


def _prompt_time(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    # The parts of the day, their hours and which are still open are the slots module's.
    rows: list[tuple[Button, ...]] = [
        tuple(
            Button(slot_label(slot, t.lang), button_data(TIME, slot_button_key(slot, ctx.now)))
            for slot in row
        )
        for row in slot_rows(ctx.now)
    ]
    rows.append((_back_button(t, TIME),))
    text = "\n".join(
        (
            _step_counter(t, TIME),
            bold(t._("When should the technician come?")),
            time_note(t.lang),
        )
    )
    return [Outbound(text, buttons=tuple(rows))]


def _prompt_summary(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    if session.data.get("edit_menu"):
        rows = [
            (Button(t._(FIELD_NAMES[step]), button_data(SUMMARY, "edit", step)),)
            for step in EDITABLE
        ]
        rows.append((Button(t._("◀ Back to summary"), button_data(SUMMARY, "view")),))
        question = t._("What would you like to change?")
        return [Outbound(question, buttons=tuple(rows))]
    buttons: Rows = (
        (Button(t._("✅ Confirm"), button_data(SUMMARY, "confirm")),),
        (
            Button(t._("✏️ Edit"), button_data(SUMMARY, "edit")),
            Button(t._("✖ Cancel"), button_data(SUMMARY, "cancel")),
        ),
    )
    return [Outbound(summary_text(session.data, t), buttons=buttons)]


def summary_text(data: dict[str, object], t: Translator) -> str:
    """Render the answers collected so far as the summary the customer confirms."""
    lang = t.lang
    problem = data.get("problem")
    visit = ""
    if isinstance(data.get("visit_date"), str) and isinstance(data.get("visit_part"), str):
        day = date.fromisoformat(str(data["visit_date"]))
        visit = format_visit(day, str(data["visit_part"]), lang)
    phone = data.get("phone")
    lines = [
        bold(t._("Please check your booking")),
        "",
        t._("Service") + f": {esc(service_label(str(data.get('service', '')), lang))}",
        # The customer's own words: set apart, as the technician will see them.
        *labelled_text(t._("Problem"), str(problem) if problem else None, SUMMARY_ECHO),
        t._("Area") + f": {esc_line(area_of(data, lang))}",
        t._("Address") + f": {address_text(t, data.get('address'), data.get('lat'))}",
        t._("Phone") + f": {_phone_text(phone, lang)}",
        t._("Name") + f": {esc(shorten(one_line(str(data.get('name') or '—')), MAX_NAME))}",
        t._("Visit") + f": {esc(visit) or '—'}",
    ]
    return "\n".join(lines)


def _phone_text(phone: object, lang: str) -> str:
    return localize_digits(phones.national_form(str(phone)), lang) if phone else "—"


def area_of(data: dict[str, object], lang: str) -> str:
    """The area answered in ``data``, by name (a typed area as typed)."""
    other = data.get("area_other")
    return area_label(str(data.get("area", "")), lang, str(other) if other else None)


def address_text(t: Translator, address: object, latitude: object = None) -> str:
    """An address and/or a pin as the customer is shown it, escaped."""
    parts = []
    if address:
        parts.append(esc(shorten(one_line(str(address)), SUMMARY_ECHO)))
    if latitude is not None:
        parts.append(t._("📍 location pin"))
    return ", ".join(parts) if parts else "—"


_PROMPTS: dict[str, Callable[[Session, Context, Translator], list[Outbound]]] = {
    CONSENT: _prompt_consent,
    SERVICE: _prompt_service,
    PROBLEM: _prompt_problem,
    AREA: _prompt_area,
    AREA_OTHER: _prompt_area_other,
    ADDRESS: _prompt_address,
    PHONE: _prompt_phone,
    NAME: _prompt_name,
    TIME: _prompt_time,
    SUMMARY: _prompt_summary,
}


def button_hint(t: Translator) -> str:
    """The hint for a typed answer where a button is expected."""
    return t._("Please use the buttons below.")


def unsupported_hint(t: Translator, kind: str, step: str) -> str:
    """The hint for a sticker, photo or the like at ``step``."""
    what = t._(UNSUPPORTED_NAMES.get(kind, N_("that")))
    if step in (SERVICE, AREA, TIME, CONSENT, SUMMARY):
        return t._("I can't use {what} here. Please use the buttons below.").format(what=what)
    return t._("I can't use {what} here. Please answer in text.").format(what=what)
