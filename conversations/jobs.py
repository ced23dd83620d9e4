"""The technician's side: job notices, Accept/Decline, and the contact hand-over."""

from __future__ import annotations

from dataclasses import dataclass

from conversations.catalogue import area_label, service_label
from conversations.digits import localize_digits
from conversations.i18n import translator
from conversations.outbound import Button, Outbound
from conversations.phone import national_form
from conversations.slots import format_visit
from conversations.text import ASCII_NUMBER, bold, esc, shorten
from conversations.views import OrderView

PREFIX = "job"
ACCEPT = "acc"
#: How much of the problem text a notice repeats (escaped, it must fit beside the contact).
PROBLEM_ECHO = 300
DECLINE = "dec"


@dataclass(frozen=True, slots=True)
class JobButton:
    """A parsed press on a job notice; only a hint of what was meant, never proof."""

    offer_id: int
    accept: bool


def parse_button(data: str) -> JobButton | None:
    """Parse ``job:acc:12`` / ``job:dec:12``."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in (ACCEPT, DECLINE):
        return None
    if not ASCII_NUMBER.fullmatch(parts[2]):
        return None
    return JobButton(int(parts[2]), parts[1] == ACCEPT)


def _job_lines(order: OrderView, lang: str) -> list[str]:
    t = translator(lang)
    return [
        t._("Reference") + f": <b>{order.reference}</b>",
        t._("Service") + f": {esc(service_label(order.service, lang))}",
        t._("Area") + f": {esc(area_label(order.area, lang, order.area_other))}",
        t._("Problem")
        + f": {esc(shorten(order.problem, PROBLEM_ECHO)) if order.problem else '—'}",
        t._("Time") + f": {esc(format_visit(order.visit_date, order.visit_part, lang))}",
    ]


def _contact_lines(order: OrderView, lang: str) -> list[str]:
    t = translator(lang)
    phone = localize_digits(national_form(order.phone), lang) if order.phone else "—"
    return [
        t._("Name") + f": {esc(order.name or '—')}",
        t._("Phone") + f": {phone}",
        t._("Address") + f": {esc(order.address) if order.address else '—'}",
    ]


def job_notice(chat_id: int, lang: str, order: OrderView, offer_id: int) -> Outbound:
    """The offer a technician sees: no customer contact until they accept."""
    t = translator(lang)
    text = "\n".join(("🔔 " + bold(t._("New job")), "", *_job_lines(order, lang)))
    buttons = (
        (
            Button(t._("✅ Accept"), f"{PREFIX}:{ACCEPT}:{offer_id}"),
            Button(t._("✖ Decline"), f"{PREFIX}:{DECLINE}:{offer_id}"),
        ),
    )
    return Outbound(chat_id, text, buttons=buttons)


def job_taken(chat_id: int, lang: str, order: OrderView, message_id: int | None) -> Outbound:
    """After Accept: the notice says so and loses its buttons (the contact follows)."""
    t = translator(lang)
    header = "✅ " + bold(t._("You accepted this job. The customer's contact follows."))
    body = "\n".join((header, "", *_job_lines(order, lang)))
    return Outbound(chat_id, body, edit_message_id=message_id)


def accepted_toast(lang: str) -> str:
    """The short confirmation shown on the Accept button itself."""
    return translator(lang)._("Accepted")


def contact_card(chat_id: int, lang: str, order: OrderView) -> Outbound:
    """The customer's contact, for the technician who accepted (and the pin, if shared)."""
    t = translator(lang)
    contact = [bold(t._("Customer")) + f" — {order.reference}", *_contact_lines(order, lang)]
    location = None
    if order.latitude is not None and order.longitude is not None:
        contact.append(t._("📍 Location pin below."))
        location = (order.latitude, order.longitude)
    contact.append("")
    contact.append(t._("Please call the customer to confirm the visit."))
    return Outbound(chat_id, "\n".join(contact), location=location)


def offer_passed(chat_id: int, lang: str, order: OrderView, message_id: int) -> Outbound:
    """Edit of an offer left unanswered: it has gone to someone else (buttons removed)."""
    t = translator(lang)
    text = "\n".join(
        ("⌛ " + t._("This offer has passed to another technician."), "", *_job_lines(order, lang))
    )
    return Outbound(chat_id, text, edit_message_id=message_id)


def job_declined(chat_id: int, lang: str, order: OrderView, message_id: int | None) -> Outbound:
    """After Decline: the notice says so and loses its buttons."""
    t = translator(lang)
    text = "\n".join(("✖ " + t._("You declined this job."), "", *_job_lines(order, lang)))
    if message_id is None:
        return Outbound(chat_id, text)
    return Outbound(chat_id, text, edit_message_id=message_id)


def job_gone(chat_id: int, lang: str) -> Outbound:
    """Said when a press arrives on an offer that was already answered or moved on."""
    return Outbound(chat_id, translator(lang)._("This job was already taken or has expired."))


def not_yours(chat_id: int, lang: str) -> Outbound:
    """Said when someone presses a job button of an offer that was not made to them."""
    return Outbound(chat_id, translator(lang)._("This job was not offered to you."))


def admin_unassigned(
    chat_id: int, order: OrderView, choices: list[tuple[int, str]] | None = None
) -> Outbound:
    """The operators' copy of an order no technician took, with buttons to assign one."""
    t = translator("en")
    lines = [
        "⚠️ " + bold(t._("No technician took this job")),
        "",
        *_job_lines(order, "en"),
        *_contact_lines(order, "en"),
    ]
    buttons = tuple(
        (Button(t._("Assign {name}").format(name=name)[:60], assign_data(order.order_id, tech)),)
        for tech, name in (choices or [])
    )
    if not buttons:
        lines += ["", t._("No technician does this service in this area: call the customer.")]
    return Outbound(chat_id, "\n".join(lines), buttons=buttons)


OPERATOR_PREFIX = "op"


def assign_data(order_id: int, technician_id: int) -> str:
    """Button data of an operator's "assign" choice."""
    return f"{OPERATOR_PREFIX}:as:{order_id}:{technician_id}"


def parse_assign(data: str) -> tuple[int, int] | None:
    """Parse ``op:as:<order>:<technician>``."""
    parts = data.split(":")
    if len(parts) != 4 or parts[:2] != [OPERATOR_PREFIX, "as"]:
        return None
    if not (ASCII_NUMBER.fullmatch(parts[2]) and ASCII_NUMBER.fullmatch(parts[3])):
        return None
    return int(parts[2]), int(parts[3])


def assigned_by_operator(
    chat_id: int, order: OrderView, name: str, message_id: int | None
) -> Outbound:
    """The operators' message after a hand assignment (buttons removed)."""
    t = translator("en")
    text = "\n".join(
        ("✅ " + t._("Assigned to {name}.").format(name=esc(name)), "", *_job_lines(order, "en"))
    )
    return Outbound(chat_id, text, edit_message_id=message_id)


def assigned_to_you(chat_id: int, lang: str, order: OrderView) -> Outbound:
    """Told to a technician the operators assigned a job to by hand."""
    t = translator(lang)
    text = "\n".join(
        ("📌 " + bold(t._("Our team assigned you this job.")), "", *_job_lines(order, lang))
    )
    return Outbound(chat_id, text)


def jobs_list(chat_id: int, lang: str, orders: list[OrderView]) -> Outbound:
    """/jobs: the technician's open jobs, with the contact of each (they accepted them)."""
    t = translator(lang)
    if not orders:
        return Outbound(chat_id, t._("You have no open jobs."))
    blocks = [bold(t._("Your open jobs"))]
    for order in orders:
        blocks.append("\n".join((*_job_lines(order, lang), *_contact_lines(order, lang))))
    return Outbound(chat_id, "\n\n".join(blocks))
