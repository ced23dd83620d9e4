"""The booking conversation: consent, service, problem, area, address, phone, name, time.

A pure state machine: :func:`start` and :func:`handle` take a session and an event and return
an :class:`Outcome` (the new session, the messages to send, and actions for the caller to
carry out, such as storing the order). Nothing here touches a database or a network.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
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
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    Inbound,
    LocationShared,
    Text,
    Unsupported,
)
from conversations.i18n import N_, Translator, translator
from conversations.outbound import Button, Key, KeyKind, Outbound, Reply, Rows
from conversations.session import BOOKING, Context, Profile, Session
from conversations.slots import (
    DAY_NAMES,
    format_visit,
    open_slots,
    parse_slot_button,
    slot_button_key,
    slot_date,
)
from conversations.text import ASCII_NUMBER, bold, clean, esc, has_letters, shorten

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
    TIME: N_("Time"),
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


@dataclass(slots=True)
class Outcome:
    """What a booking step produced."""

    session: Session
    reply: Reply = field(default_factory=Reply)
    actions: list[Action] = field(default_factory=list)


def button_data(step: str, *parts: str) -> str:
    """Return button data for ``step`` (``bk:area:mirpur``); the step catches stale presses."""
    return ":".join((PREFIX, step, *parts))


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
        outcome.reply.send(Outbound(session.user_id, hint))
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
            session.user_id,
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
        hint = t._("I don't know the command /{name}.").format(name=esc(payload.name[:32]))
        return reprompt(session, ctx, hint)
    handler = _TEXT_STEPS.get(session.step)
    if handler is None:
        return reprompt(session, ctx, _button_hint(t))
    if isinstance(payload, Unsupported):
        return reprompt(session, ctx, _unsupported_hint(t, payload.kind, session.step))
    return handler(session, payload, ctx, t)


# --- prompts --------------------------------------------------------------------------------


def _enter(outcome: Outcome, step: str, ctx: Context, ack: str | None = None) -> None:
    """Move to ``step`` and ask it; the reply keyboard goes away when the new step has none."""
    previous = outcome.session.step
    outcome.session.step = step
    t = translator(outcome.session.lang or "bn")
    chat = outcome.session.user_id
    leaving_keys = previous in KEYBOARD_STEPS and step not in KEYBOARD_STEPS
    if ack or leaving_keys:
        outcome.reply.send(Outbound(chat, ack or t._("OK."), remove_keys=leaving_keys))
    _send_prompt(outcome, ctx)


def _send_prompt(outcome: Outcome, ctx: Context) -> None:
    session = outcome.session
    t = translator(session.lang or "bn")
    outcome.reply.effects.extend(_PROMPTS[session.step](session, ctx, t))


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
    return [Outbound(session.user_id, text, buttons=buttons)]


def _prompt_service(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    buttons = [
        Button(f"{service.icon} {service.label(t.lang)}", button_data(SERVICE, service.slug))
        for service in SERVICES
    ]
    rows: Rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    text = _step_counter(t, SERVICE) + "\n" + bold(t._("Which service do you need?"))
    return [Outbound(session.user_id, text, buttons=rows)]


def _prompt_problem(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            _step_counter(t, PROBLEM),
            bold(t._("What is the problem?")),
            t._("Describe it in your own words, e.g. “kitchen tap is leaking”. Or tap Skip."),
        )
    )
    rows: Rows = ((Button(t._("Skip ▶"), button_data(PROBLEM, "skip")), _back_button(t, PROBLEM)),)
    return [Outbound(session.user_id, text, buttons=rows)]


def _prompt_area(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    page = int(session.data.get("area_page", 0))
    return [Outbound(session.user_id, _area_text(t), buttons=_area_buttons(t, page))]


def _area_text(t: Translator) -> str:
    return "\n".join(
        (
            _step_counter(t, AREA),
            bold(t._("Which area of Dhaka is the job in?")),
            t._("Not in the list? Tap “Other area” and type it."),
        )
    )


def _area_pages() -> int:
    return (len(AREAS) + AREAS_PER_PAGE - 1) // AREAS_PER_PAGE


def _area_buttons(t: Translator, page: int) -> Rows:
    page = max(0, min(page, _area_pages() - 1))
    chunk = AREAS[page * AREAS_PER_PAGE : (page + 1) * AREAS_PER_PAGE]
    picks = [Button(area.label(t.lang), button_data(AREA, area.slug)) for area in chunk]
    rows: list[tuple[Button, ...]] = [tuple(picks[i : i + 2]) for i in range(0, len(picks), 2)]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button(t._("◀ Previous"), button_data(AREA, "page", str(page - 1))))
    counter = localize_digits(f"{page + 1}/{_area_pages()}", t.lang)
    nav.append(Button(counter, button_data(AREA, "page", str(page))))
    if page < _area_pages() - 1:
        nav.append(Button(t._("More ▶"), button_data(AREA, "page", str(page + 1))))
    rows.append(tuple(nav))
    rows.append(
        (Button(t._("✏️ Other area"), button_data(AREA, OTHER_AREA)), _back_button(t, AREA))
    )
    return tuple(rows)


def _prompt_area_other(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    text = t._("Type the name of your area (for example “Aftabnagar”).")
    return [Outbound(session.user_id, text, buttons=((_back_button(t, AREA_OTHER),),))]


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
    messages = [Outbound(session.user_id, "\n".join(lines), keys=keys)]
    known = session.data.get("known_address")
    known_lat = session.data.get("known_lat")
    if known or known_lat is not None:
        # One message carries one keyboard: the saved-address offer comes as a second one.
        saved = t._("Or use your saved address: {address}").format(
            address=_address_text(t, known, known_lat)
        )
        button = Button(t._("✅ Use saved address"), button_data(ADDRESS, "saved"))
        messages.append(Outbound(session.user_id, saved, buttons=((button,),)))
    return messages


def _prompt_phone(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    lines = [
        _step_counter(t, PHONE),
        bold(t._("Your mobile number?")),
        t._("Tap the button to share it, or type it (e.g. 01712345678)."),
    ]
    keys = ((Key(t._("📱 Share my number"), KeyKind.CONTACT),), (Key(t._("◀ Back")),))
    messages = [Outbound(session.user_id, "\n".join(lines), keys=keys)]
    known = session.data.get("known_phone")
    if known:
        masked = localize_digits(phones.mask(known), t.lang)
        button = Button(t._("✅ Use {phone}").format(phone=masked), button_data(PHONE, "saved"))
        messages.append(
            Outbound(session.user_id, t._("Or use your saved number:"), buttons=((button,),))
        )
    return messages


def _prompt_name(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    text = "\n".join(
        (
            _step_counter(t, NAME),
            bold(t._("What name should the technician ask for?")),
            t._("Tap your name below or type another."),
        )
    )
    suggestion = session.data.get("known_name") or session.data.get("first_name")
    rows: list[tuple[Key, ...]] = []
    if suggestion:
        rows.append((Key(shorten(suggestion, MAX_NAME)),))
    rows.append((Key(t._("◀ Back")),))
    return [Outbound(session.user_id, text, keys=tuple(rows))]


def _prompt_time(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    rows: list[tuple[Button, ...]] = []
    current: list[Button] = []
    current_day = -1
    for slot in open_slots(ctx.now):
        if slot.day != current_day and current:
            rows.append(tuple(current))
            current = []
        current_day = slot.day
        label = t._(DAY_NAMES[slot.day]) + " · " + _part_short(t, slot.part)
        current.append(Button(label, button_data(TIME, slot_button_key(slot, ctx.now))))
    if current:
        rows.append(tuple(current))
    rows.append((_back_button(t, TIME),))
    text = "\n".join(
        (
            _step_counter(t, TIME),
            bold(t._("When should the technician come?")),
            localize_digits(
                t._("Morning 9am–12pm, afternoon 12–5pm, evening 5–8pm (Dhaka time)."), t.lang
            ),
        )
    )
    return [Outbound(session.user_id, text, buttons=tuple(rows))]


def _part_short(t: Translator, part: str) -> str:
    names = {"morning": N_("Morning"), "afternoon": N_("Afternoon"), "evening": N_("Evening")}
    return t._(names[part])


def _prompt_summary(session: Session, ctx: Context, t: Translator) -> list[Outbound]:
    if session.data.get("edit_menu"):
        rows = [
            (Button(t._(FIELD_NAMES[step]), button_data(SUMMARY, "edit", step)),)
            for step in EDITABLE
        ]
        rows.append((Button(t._("◀ Back to summary"), button_data(SUMMARY, "view")),))
        question = t._("What would you like to change?")
        return [Outbound(session.user_id, question, buttons=tuple(rows))]
    buttons: Rows = (
        (Button(t._("✅ Confirm"), button_data(SUMMARY, "confirm")),),
        (
            Button(t._("✏️ Edit"), button_data(SUMMARY, "edit")),
            Button(t._("✖ Cancel"), button_data(SUMMARY, "cancel")),
        ),
    )
    return [Outbound(session.user_id, summary_text(session.data, t), buttons=buttons)]


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
        t._("Problem") + f": {esc(shorten(str(problem), SUMMARY_ECHO)) if problem else '—'}",
        t._("Area") + f": {esc(_area_of(data, lang))}",
        t._("Address") + f": {_address_text(t, data.get('address'), data.get('lat'))}",
        t._("Phone") + f": {_phone_text(phone, lang)}",
        t._("Name") + f": {esc(shorten(str(data.get('name', '—')), MAX_NAME))}",
        t._("Time") + f": {esc(visit) or '—'}",
    ]
    return "\n".join(lines)


def _phone_text(phone: object, lang: str) -> str:
    return localize_digits(phones.national_form(str(phone)), lang) if phone else "—"


def _area_of(data: dict[str, object], lang: str) -> str:
    other = data.get("area_other")
    return area_label(str(data.get("area", "")), lang, str(other) if other else None)


def _address_text(t: Translator, address: object, latitude: object = None) -> str:
    parts = []
    if address:
        parts.append(esc(shorten(str(address), SUMMARY_ECHO)))
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
        return reprompt(session, ctx, _button_hint(t))
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
                session.user_id,
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
    session: Session, rest: list[str], message_id: int | None, t: Translator
) -> Outcome:
    outcome = Outcome(session.copy())
    page = int(rest[0]) if rest and ASCII_NUMBER.fullmatch(rest[0]) else 0
    page = max(0, min(page, _area_pages() - 1))
    outcome.session.data["area_page"] = page
    # Page in place: edit the list rather than sending a new message per page.
    outcome.reply.send(
        Outbound(
            session.user_id,
            _area_text(t),
            buttons=_area_buttons(t, page),
            edit_message_id=message_id,
        )
    )
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
    return reprompt(session, ctx, _button_hint(t))


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
        if payload.owner_user_id != session.user_id:
            hint = t._("Please share your own number with the button, or type it.")
            return reprompt(session, ctx, hint)
        raw = payload.phone
    elif isinstance(payload, Text):
        raw = payload.text
    else:
        return reprompt(session, ctx, _unsupported_hint(t, "other", PHONE))
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


def _button_hint(t: Translator) -> str:
    return t._("Please use the buttons below.")


def _unsupported_hint(t: Translator, kind: str, step: str) -> str:
    what = t._(UNSUPPORTED_NAMES.get(kind, N_("that")))
    if step in (SERVICE, AREA, TIME, CONSENT, SUMMARY):
        return t._("I can't use {what} here. Please use the buttons below.").format(what=what)
    return t._("I can't use {what} here. Please answer in text.").format(what=what)


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


__all__ = [
    "Action",
    "GiveConsent",
    "OrderDraft",
    "Outcome",
    "PlaceOrder",
    "ShowPolicy",
    "cancel",
    "handle",
    "reprompt",
    "start",
]
