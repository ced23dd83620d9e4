"""Correcting saved details from /mydata: a new name, phone or address, one question each.

A pure flow like the booking: :func:`start` and :func:`handle` take a session and an event
and return an :class:`~conversations.router.Outcome` (new session, messages, and a
:class:`~conversations.session.SaveCorrection` for the core to store). The flow stacks: asked
in the middle of a booking, it sets the booking aside, and the router gives it back when the
correction ends, saved or cancelled, so nothing typed is lost. The answers are checked by the
booking's own rules (:mod:`conversations.booking`).
"""

from __future__ import annotations

from conversations import booking
from conversations import phone as phones
from conversations.booking.prompts import UNSUPPORTED_NAMES
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
from conversations.outbound import Key, KeyKind, Outbound
from conversations.router import Flow, Outcome, enter, register
from conversations.session import Context, SaveCorrection, Session
from conversations.text import bold, esc, esc_line, has_letters, one_line, too_long

FLOW = "correct"
NAME = "name"
PHONE = "phone"
ADDRESS = "address"
FIELDS = (NAME, PHONE, ADDRESS)
#: Button data of the /mydata buttons that start a correction: ``dr:fix:name``.
PREFIX = "dr:fix"

FIELD_LABELS = {
    NAME: N_("✏️ Change name"),
    PHONE: N_("✏️ Change phone"),
    ADDRESS: N_("✏️ Change address"),
}


def fix_data(field_name: str) -> str:
    """Return the button data that starts correcting ``field_name`` (``dr:fix:phone``)."""
    return f"{PREFIX}:{field_name}"


def parse_fix(data: str) -> str | None:
    """Return the field a ``dr:fix:<field>`` button names, or None."""
    head, _, name = data.rpartition(":")
    return name if head == PREFIX and name in FIELDS else None


# --- entry points -------------------------------------------------------------------------


def start(session: Session, field_name: str) -> Outcome:
    """Ask for a new value of ``field_name``, keeping any booking in progress aside."""
    if field_name not in FIELDS:
        raise ValueError(f"no such field: {field_name!r}")
    new = session.copy()
    new.flow, new.step, new.data = FLOW, field_name, {}
    outcome = Outcome(new)
    outcome.reply.effects.extend(_prompt(new))
    return enter(session, outcome)


def reprompt(session: Session, hint: str | None = None) -> Outcome:
    """Ask the current question again, after an optional hint."""
    outcome = Outcome(session.copy())
    if hint:
        outcome.reply.send(Outbound(hint))
    outcome.reply.effects.extend(_prompt(session))
    return outcome


def cancel(session: Session) -> Outcome:
    """Leave the correction unchanged; what it interrupted comes back."""
    t = _t(session)
    new = session.copy()
    new.reset()
    outcome = Outcome(new)
    outcome.reply.send(Outbound(t._("Nothing was changed."), remove_keys=True))
    return outcome


def handle(session: Session, event: Inbound, ctx: Context | None = None) -> Outcome:
    """Answer one event at the session's current question."""
    t = _t(session)
    payload = event.payload
    if session.step not in FIELDS:
        # A damaged session (never written by this module): give back what it interrupted.
        return cancel(session)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return cancel(session)
        return reprompt(session, t._("To keep your details as they are, send /cancel."))
    if isinstance(payload, ButtonPress):
        hint = t._("That button belongs to an earlier message. Here is where we are:")
        return reprompt(session, hint)
    if isinstance(payload, Text) and payload.text.strip() in _CANCEL_LABELS:
        return cancel(session)
    if isinstance(payload, Unsupported):
        return reprompt(session, _unsupported(t, payload.kind))
    if session.step == NAME:
        return _name(session, payload, t)
    if session.step == PHONE:
        return _phone(session, payload, t)
    return _address(session, payload, t)


# --- answers -------------------------------------------------------------------------------


def _name(session: Session, payload: object, t: Translator) -> Outcome:
    # One line, as in the booking: the technician's card shows it beside the phone.
    text = one_line(payload.text) if isinstance(payload, Text) else None
    if text is None:
        return reprompt(session, _unsupported(t, "other"))
    # The booking's rule for a name (booking.MAX_NAME): letters, and short enough.
    if not text or not has_letters(text) or len(text) > booking.MAX_NAME:
        hint = localize_digits(
            t._("Please type a name of up to {limit} characters.").format(limit=booking.MAX_NAME),
            t.lang,
        )
        return reprompt(session, hint)
    shown = t._("✅ Saved: your name is now {name}.").format(name=esc(text))
    return _saved(session, SaveCorrection(NAME, text), shown)


def _phone(session: Session, payload: object, t: Translator) -> Outcome:
    if isinstance(payload, ContactShared):
        if payload.owner != session.person.id:
            return reprompt(
                session, t._("Please share your own number with the button, or type it.")
            )
        raw = payload.phone
    elif isinstance(payload, Text):
        raw = payload.text
    else:
        return reprompt(session, _unsupported(t, "other"))
    e164 = phones.check_bd_mobile(raw)
    if isinstance(e164, phones.Refusal):
        return reprompt(session, phones.refusal_text(t, e164))
    number = localize_digits(phones.national_form(e164), t.lang)
    shown = t._("✅ Saved: your phone is now {phone}.").format(phone=number)
    return _saved(session, SaveCorrection(PHONE, e164), shown)


def _address(session: Session, payload: object, t: Translator) -> Outcome:
    if isinstance(payload, LocationShared):
        if not (-90 <= payload.latitude <= 90 and -180 <= payload.longitude <= 180):
            return reprompt(session, t._("That location could not be read. Please try again."))
        shown = t._("✅ Saved: your address is now {address}.").format(
            address=t._("📍 location pin")
        )
        action = SaveCorrection(ADDRESS, None, payload.latitude, payload.longitude)
        return _saved(session, action, shown)
    text = one_line(payload.text) if isinstance(payload, Text) else None
    if text is None:
        return reprompt(session, _unsupported(t, "other"))
    # The booking's rules for an address (booking.MIN_ADDRESS / MAX_ADDRESS).
    if len(text) < booking.MIN_ADDRESS or not has_letters(text):
        return reprompt(
            session, t._("Please type the full address: house, road, area and a landmark.")
        )
    if len(text) > booking.MAX_ADDRESS:
        hint = too_long(t.lang, booking.MAX_ADDRESS)
        return reprompt(session, localize_digits(hint, t.lang))
    shown = t._("✅ Saved: your address is now {address}.").format(address=esc(text))
    return _saved(session, SaveCorrection(ADDRESS, text), shown)


def _saved(session: Session, action: SaveCorrection, shown: str) -> Outcome:
    new = session.copy()
    new.reset()
    outcome = Outcome(new, actions=[action])
    outcome.reply.send(Outbound(shown, remove_keys=True))
    return outcome


# --- prompts --------------------------------------------------------------------------------


def _t(session: Session) -> Translator:
    return translator(session.lang or "bn")


def _prompt(session: Session) -> list[Outbound]:
    t = _t(session)
    cancel_key = (Key(t._("✖ Cancel")),)
    if session.step == NAME:
        lines = (
            bold(t._("What is your name?")),
            t._("Type it as the technician should ask for you."),
        )
        keys: tuple[tuple[Key, ...], ...] = (cancel_key,)
    elif session.step == PHONE:
        lines = (
            bold(t._("Your new mobile number?")),
            t._("Tap the button to share it, or type it (e.g. 01712345678)."),
        )
        keys = ((Key(t._("📱 Share my number"), KeyKind.CONTACT),), cancel_key)
    else:
        lines = (
            bold(t._("Your new address?")),
            t._(
                "House, road, block and a landmark. Or share a location pin with the button below."
            ),
        )
        keys = ((Key(t._("📍 Share location"), KeyKind.LOCATION),), cancel_key)
    note = t._("It replaces the saved one and the one on your open orders. /cancel keeps it.")
    text = "\n".join((*lines, note))
    return [Outbound(localize_digits(text, t.lang), keys=keys)]


def _unsupported(t: Translator, kind: str) -> str:
    what = t._(UNSUPPORTED_NAMES.get(kind, N_("that")))
    return t._("I can't use {what} here. Please answer in text.").format(what=what)


_CANCEL_LABELS = frozenset(translator(lang)._("✖ Cancel") for lang in ("bn", "en")) | {"✖ Cancel"}


# --- what others are told -------------------------------------------------------------------


def orders_updated(lang: str, references: list[str]) -> Outbound:
    """Tell the customer which open orders now carry the corrected detail."""
    t = translator(lang)
    text = t._("Also changed on your open orders: {references}.").format(
        references=", ".join(references)
    )
    return Outbound(text)


def contact_changed(
    lang: str,
    reference: str,
    correction: SaveCorrection,
) -> Outbound:
    """Tell the technician of an order the customer's corrected contact, in their language."""
    t = translator(lang)
    location = None
    if correction.field == NAME:
        text = t._("✏️ {reference}: the customer's name is now {name}.").format(
            reference=reference, name=esc_line(correction.value or "—")
        )
    elif correction.field == PHONE:
        number = phones.national_form(correction.value) if correction.value else "—"
        text = t._("✏️ {reference}: the customer's phone is now {phone}.").format(
            reference=reference, phone=localize_digits(number, lang)
        )
    else:
        if correction.value:
            address = esc_line(correction.value)
        else:
            address = t._("📍 location pin")
            if correction.latitude is not None and correction.longitude is not None:
                location = (correction.latitude, correction.longitude)
        text = t._("✏️ {reference}: the customer's address is now {address}.").format(
            reference=reference, address=address
        )
    return Outbound(text, location=location)


#: Commands answered aside mid-correction (then it is asked again); any other goes to it.
INTERRUPTED_BY = frozenset({"help", "privacy", "myorders", "mydata", "language", "deleteme"})
#: Buttons of others that still work mid-correction; any other button is stale here.
BUTTONS_ASIDE = frozenset({"lang", "dr", "rt", "ord", "job"})

SPEC = register(
    Flow(
        name=FLOW,
        handle=handle,
        reprompt=lambda session, ctx: reprompt(session),
        steps=frozenset(FIELDS),
        interrupted_by=INTERRUPTED_BY,
        buttons_aside=BUTTONS_ASIDE,
        stacks=True,
    )
)

__all__ = [
    "FIELDS",
    "FLOW",
    "SPEC",
    "Outcome",
    "SaveCorrection",
    "cancel",
    "contact_changed",
    "fix_data",
    "handle",
    "orders_updated",
    "parse_fix",
    "reprompt",
    "start",
]
