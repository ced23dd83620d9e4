"""Data rights in the chat: /mydata shows what is held, /deleteme erases it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conversations.digits import localize_digits
from conversations.i18n import translator
from conversations.outbound import Button, Outbound
from conversations.phone import national_form
from conversations.slots import DHAKA
from conversations.text import bold, esc

PREFIX = "dr"
CONFIRM_DELETE = f"{PREFIX}:delete:yes"
KEEP = f"{PREFIX}:delete:no"


@dataclass(frozen=True, slots=True)
class HeldData:
    """Everything held about one person, in plain values."""

    name: str | None
    phone: str | None
    address: str | None
    has_location: bool
    consent_version: str | None
    consent_at: datetime | None
    order_references: tuple[str, ...]
    in_conversation: bool


def my_data(chat_id: int, lang: str, held: HeldData | None) -> Outbound:
    """Render /mydata in plain words."""
    t = translator(lang)
    if held is None:
        return Outbound(
            chat_id,
            t._("We hold no personal data about you, apart from your chosen language."),
        )
    dash = "—"
    consent = dash
    if held.consent_at is not None:
        when = held.consent_at.astimezone(DHAKA).strftime("%Y-%m-%d %H:%M")
        consent = localize_digits(
            t._("{when} (policy of {version})").format(when=when, version=held.consent_version),
            lang,
        )
    phone = localize_digits(national_form(held.phone), lang) if held.phone else dash
    address = esc(held.address) if held.address else dash
    if held.has_location:
        address += " · " + t._("📍 location pin")
    references = ", ".join(held.order_references) if held.order_references else dash
    lines = [
        bold(t._("What we hold about you")),
        "",
        t._("Name") + ": " + (esc(held.name) if held.name else dash),
        t._("Phone") + ": " + phone,
        t._("Address") + ": " + address,
        t._("Orders") + ": " + references,
        t._("Agreed to the privacy policy") + ": " + consent,
        "",
        t._("To correct your phone or address, make a new booking: the newest details are kept."),
        t._("To erase everything, send /deleteme."),
    ]
    return Outbound(chat_id, "\n".join(lines))


def confirm_delete(chat_id: int, lang: str) -> Outbound:
    """Ask before erasing, saying what goes and what stays."""
    t = translator(lang)
    text = "\n".join(
        (
            bold(t._("Erase your data?")),
            t._(
                "We will erase your name, phone numbers, addresses, location pins, problem"
                " descriptions, your answers in progress and your consent record. Open orders"
                " are cancelled."
            ),
            t._(
                "We keep only anonymous order rows (service, area, date, status) for our"
                " accounts; they cannot be linked to you."
            ),
        )
    )
    buttons = (
        (
            Button(t._("🗑 Yes, erase"), CONFIRM_DELETE),
            Button(t._("Keep my data"), KEEP),
        ),
    )
    return Outbound(chat_id, text, buttons=buttons)


def deleted(chat_id: int, lang: str) -> Outbound:
    """Confirm the erasure."""
    t = translator(lang)
    return Outbound(
        chat_id,
        t._("Done: your data is erased. Thank you for using Mistri Services."),
        remove_keys=True,
    )


def nothing_to_delete(chat_id: int, lang: str) -> Outbound:
    """Said when there is nothing left to erase."""
    return Outbound(chat_id, translator(lang)._("We hold no personal data about you."))


def kept(chat_id: int, lang: str) -> Outbound:
    """Said when the person changes their mind."""
    return Outbound(chat_id, translator(lang)._("Nothing was erased."))
