"""Data rights in the chat: /mydata shows what is held, exports it, /deleteme erases it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conversations import corrections
from conversations.catalogue import ALL_AREAS, area_label, service_label
from conversations.dates import in_dhaka, iso_day, long_date, moment
from conversations.digits import localize_digits
from conversations.events import Address
from conversations.i18n import translator
from conversations.orders import status_label
from conversations.outbound import MAX_TEXT, Button, Document, Outbound, Rows
from conversations.phone import national_form
from conversations.slots import DHAKA, visit_line
from conversations.text import bold, esc, one_line, shorten
from conversations.views import OrderView

PREFIX = "dr"
CONFIRM_DELETE = f"{PREFIX}:delete:yes"
KEEP = f"{PREFIX}:delete:no"
EXPORT = f"{PREFIX}:export"
#: Orders listed in the /mydata message; all of them are in the JSON download.
SHOWN_ORDERS = 10
#: How much of a stored text the message repeats (escaped, it must still fit one message).
ECHO = 200
#: (orders shown, characters of each text repeated), tried in turn until the message fits.
_LAYOUTS = ((SHOWN_ORDERS, ECHO), (3, ECHO), (3, 60), (0, 60))


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer's saved details and consent, in plain values."""

    name: str | None
    phone: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    lang: str
    consent_version: str | None
    consent_at: datetime | None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TechnicianRecord:
    """The technicians' table row of a person who is also (or only) a technician."""

    name: str | None
    phone: str | None
    services: tuple[str, ...]
    areas: tuple[str, ...]
    active: bool
    lang: str
    registered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation in progress and its answers so far."""

    flow: str
    step: str
    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HeldData:
    """Everything held about one person, in plain values (orders newest first)."""

    person: Address
    lang: str
    customer: CustomerRecord | None = None
    orders: tuple[OrderView, ...] = ()
    conversation: Conversation | None = None
    technician: TechnicianRecord | None = None

    @property
    def empty(self) -> bool:
        """Tell whether nothing personal is held (the language choice alone is not)."""
        return (
            self.customer is None
            and not self.orders
            and self.conversation is None
            and self.technician is None
        )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive times; they were stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def my_data(lang: str, held: HeldData | None) -> Outbound:
    """Render /mydata in plain words, with buttons to correct details and to download them."""
    t = translator(lang)
    if held is None or held.empty:
        return Outbound(
            t._("We hold no personal data about you, apart from your chosen language."),
        )
    for shown, echo in _LAYOUTS:
        text = _my_data_text(lang, held, shown, echo)
        if len(text) <= MAX_TEXT:
            break
    return Outbound(text, buttons=_buttons(lang, held))


def _my_data_text(lang: str, held: HeldData, shown: int, echo: int) -> str:
    t = translator(lang)
    lines = [bold(t._("What we hold about you"))]
    if held.customer is not None:
        lines += ["", *_customer_lines(held.customer, lang, echo)]
    if held.customer is not None or held.orders:
        lines += ["", *_order_lines(held.orders, lang, shown)]
    if held.conversation is not None:
        lines += [
            "",
            t._(
                "A conversation in progress (such as a booking): your answers so far are kept"
                " until you finish or cancel it."
            ),
        ]
    if held.technician is not None:
        lines += ["", *_technician_lines(held.technician, lang, echo)]
    lines.append("")
    if held.customer is not None:
        lines.append(t._("Use the buttons below to correct your details."))
    lines.append(t._("“Download my data” sends all of it as a file (JSON)."))
    lines.append(t._("To erase everything, send /deleteme."))
    return "\n".join(lines)


def _customer_lines(customer: CustomerRecord, lang: str, echo: int) -> list[str]:
    t = translator(lang)
    dash = "—"
    phone = localize_digits(national_form(customer.phone), lang) if customer.phone else dash
    places = [esc(shorten(one_line(customer.address), echo))] if customer.address else []
    if customer.latitude is not None:
        places.append(t._("📍 location pin"))
    consent = dash
    if customer.consent_at is not None:
        consent = t._("{when} (policy of {version})").format(
            when=moment(customer.consent_at, lang),
            version=esc(iso_day(customer.consent_version or dash, lang)),
        )
    return [
        t._("Name")
        + ": "
        + (esc(shorten(one_line(customer.name), echo)) if customer.name else dash),
        t._("Phone") + ": " + phone,
        t._("Address") + ": " + (" · ".join(places) if places else dash),
        t._("Agreed to the privacy policy") + ": " + consent,
    ]


def _order_lines(orders: tuple[OrderView, ...], lang: str, shown: int) -> list[str]:
    t = translator(lang)
    if not orders:
        return [t._("Orders") + ": —"]
    lines = [bold(t._("Orders"))]
    lines.extend(
        " · ".join(
            (
                order.reference,
                esc(service_label(order.service, lang)),
                esc(visit_line(order.visit_date, order.visit_part, lang)),
                status_label(order.status, lang),
            )
        )
        for order in orders[:shown]
    )
    hidden = len(orders) - shown
    if hidden > 0:
        more = t._("…and {n} older ones: all are in the download.").format(n=hidden)
        lines.append(localize_digits(more, lang))
    return lines


def _technician_lines(technician: TechnicianRecord, lang: str, echo: int) -> list[str]:
    t = translator(lang)
    dash = "—"
    services = ", ".join(service_label(slug, lang) for slug in technician.services)
    if ALL_AREAS in technician.areas:
        areas = t._("all areas")
    else:
        areas = ", ".join(area_label(slug, lang) for slug in technician.areas)
    phone = localize_digits(national_form(technician.phone), lang) if technician.phone else dash
    return [
        bold(t._("Your technician record")),
        t._("Name")
        + ": "
        + (esc(shorten(one_line(technician.name), echo)) if technician.name else dash),
        t._("Phone") + ": " + phone,
        t._("Services") + ": " + (esc(shorten(services, echo)) or dash),
        t._("Areas") + ": " + (esc(shorten(areas, echo)) or dash),
        t._("Active") + ": " + (t._("yes") if technician.active else t._("no")),
        t._("To change your technician record, please contact our team."),
    ]


def _buttons(lang: str, held: HeldData) -> Rows:
    t = translator(lang)
    rows: list[tuple[Button, ...]] = []
    if held.customer is not None:
        fix = [
            Button(t._(corrections.FIELD_LABELS[name]), corrections.fix_data(name))
            for name in corrections.FIELDS
        ]
        rows += [tuple(fix[:2]), tuple(fix[2:])]
    rows.append((Button(t._("📥 Download my data (JSON)"), EXPORT),))
    return tuple(rows)


# --- the download ---------------------------------------------------------------------------


def export_filename(now: datetime) -> str:
    """Return the download's file name, dated in Dhaka: ``mistri-data-2026-11-24.json``."""
    return f"mistri-data-{_utc(now).astimezone(DHAKA).date().isoformat()}.json"


def export_json(held: HeldData, now: datetime) -> bytes:
    """Return everything held as UTF-8 JSON: English keys, plain values, ISO 8601 times."""
    document = {
        "exported_at": _iso(now),
        "controller": "Mistri Services, Dhaka",
        **_account(held.person),
        "language": held.lang,
        "customer": _customer_json(held.customer),
        "orders": [_order_json(order) for order in held.orders],
        "conversation_in_progress": None
        if held.conversation is None
        else {
            "flow": held.conversation.flow,
            "step": held.conversation.step,
            "answers": held.conversation.answers,
        },
        "technician": _technician_json(held.technician),
    }
    # default=str: answers are JSON already; anything else is shown rather than lost.
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return (text + "\n").encode()


def export_document(lang: str, held: HeldData, now: datetime) -> Document:
    """Return the JSON download as a file for the chat."""
    t = translator(lang)
    caption = t._("Everything we hold about you, as of {date}.").format(
        date=long_date(in_dhaka(now).date(), lang)
    )
    return Document(export_filename(now), export_json(held, now), caption=caption)


def nothing_to_export(lang: str) -> Outbound:
    """Said when the download is asked for but nothing is held any more."""
    return my_data(lang, None)


def _account(person: Address) -> dict[str, Any]:
    # The id the person is known by on their channel; a Telegram user id is a number.
    if person.channel == "telegram" and person.id.lstrip("-").isdigit():
        return {"telegram_user_id": int(person.id)}
    return {f"{person.channel}_id": person.id}


def _iso(moment: datetime | None) -> str | None:
    return _utc(moment).isoformat() if moment is not None else None


def _location(latitude: float | None, longitude: float | None) -> dict[str, float] | None:
    if latitude is None or longitude is None:
        return None
    return {"latitude": latitude, "longitude": longitude}


def _customer_json(customer: CustomerRecord | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "name": customer.name,
        "phone": customer.phone,
        "address": customer.address,
        "location": _location(customer.latitude, customer.longitude),
        "language": customer.lang,
        "consent": None
        if customer.consent_at is None
        else {"policy_version": customer.consent_version, "agreed_at": _iso(customer.consent_at)},
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
    }


def _order_json(order: OrderView) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "status": order.status,
        "service": order.service,
        "area": order.area,
        "area_typed": order.area_other,
        "problem": order.problem,
        "name": order.name,
        "phone": order.phone,
        "address": order.address,
        "location": _location(order.latitude, order.longitude),
        "visit_date": order.visit_date.isoformat(),
        "visit_part": order.visit_part,
        "language": order.lang,
        "created_at": _iso(order.created_at),
    }


def _technician_json(technician: TechnicianRecord | None) -> dict[str, Any] | None:
    if technician is None:
        return None
    return {
        "name": technician.name,
        "phone": technician.phone,
        "services": list(technician.services),
        "areas": list(technician.areas),
        "active": technician.active,
        "language": technician.lang,
        "registered_at": _iso(technician.registered_at),
    }


# --- erasure --------------------------------------------------------------------------------


def confirm_delete(lang: str, *, withdrawable: bool = True) -> Outbound:
    """Ask before erasing, saying what goes and what stays.

    ``withdrawable`` False: the person's channel does not let the bot delete the messages it
    sent them (WhatsApp), and they are told so.
    """
    t = translator(lang)
    kept_in_chat: tuple[str, ...] = ()
    if not withdrawable:
        kept_in_chat = (
            t._(
                "The messages already in this chat stay: WhatsApp does not let a business"
                " delete the messages it sent. You can delete this chat yourself."
            ),
        )
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
            *kept_in_chat,
        )
    )
    buttons = (
        (
            Button(t._("🗑 Yes, erase"), CONFIRM_DELETE),
            Button(t._("Keep my data"), KEEP),
        ),
    )
    return Outbound(text, buttons=buttons)


def deleted(lang: str) -> Outbound:
    """Confirm the erasure."""
    t = translator(lang)
    return Outbound(
        t._("Done: your data is erased. Thank you for using Mistri Services."),
        remove_keys=True,
    )


def nothing_to_delete(lang: str) -> Outbound:
    """Said when there is nothing left to erase."""
    return Outbound(translator(lang)._("We hold no personal data about you."))


def kept(lang: str) -> Outbound:
    """Said when the person changes their mind."""
    return Outbound(translator(lang)._("Nothing was erased."))
