"""The technician's side of an offer: job notices, Accept/Decline, the contact hand-over.

Also the operators' copy of an order no one took and their hand assignment. What follows once
the job is the technician's (/jobs, On the way, Done, Cancel) is :mod:`conversations.job_status`.
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.catalogue import area_label, service_label
from conversations.digits import localize_digits
from conversations.i18n import N_, translator
from conversations.outbound import Button, Outbound
from conversations.phone import national_form
from conversations.slots import visit_line
from conversations.text import ASCII_NUMBER, bold, esc, esc_line, labelled_text, one_line
from conversations.views import OrderView

PREFIX = "job"
#: How the operators' chat names a person's channel (proper names: not translated).
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}
TELEGRAM = "telegram"
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


def job_lines(order: OrderView, lang: str) -> list[str]:
    """The lines that describe a job (no customer contact), as every job message shows them."""
    # Every line is one of ours: a typed area or name is kept to its line (esc_line), and the
    # customer's problem text comes quoted under its label, so neither can forge a field.
    t = translator(lang)
    return [
        t._("Reference") + f": <b>{esc_line(order.reference)}</b>",
        t._("Service") + f": {esc(service_label(order.service, lang))}",
        t._("Area") + f": {esc_line(area_label(order.area, lang, order.area_other))}",
        *labelled_text(t._("Problem"), order.problem, PROBLEM_ECHO),
        esc(visit_line(order.visit_date, order.visit_part, lang)),
    ]


def contact_lines(order: OrderView, lang: str) -> list[str]:
    """The lines of the customer's contact: name, phone and address."""
    t = translator(lang)
    phone = localize_digits(national_form(order.phone), lang) if order.phone else "—"
    return [
        t._("Name") + f": {esc_line(order.name) if order.name else '—'}",
        t._("Phone") + f": {phone}",
        t._("Address") + f": {esc_line(order.address) if order.address else '—'}",
    ]


def job_notice(lang: str, order: OrderView, offer_id: int) -> Outbound:
    """The offer a technician sees: no customer contact until they accept."""
    t = translator(lang)
    text = "\n".join(("🔔 " + bold(t._("New job")), "", *job_lines(order, lang)))
    buttons = (
        (
            Button(t._("✅ Accept"), f"{PREFIX}:{ACCEPT}:{offer_id}"),
            Button(t._("✖ Decline"), f"{PREFIX}:{DECLINE}:{offer_id}"),
        ),
    )
    return Outbound(text, buttons=buttons)


def job_taken(lang: str, order: OrderView, message_id: str | None) -> Outbound:
    """After Accept: the notice says so and loses its buttons (the contact follows)."""
    t = translator(lang)
    header = "✅ " + bold(t._("You accepted this job. The customer's contact follows."))
    body = "\n".join((header, "", *job_lines(order, lang)))
    return Outbound(body, replaces=message_id)


def accepted_toast(lang: str) -> str:
    """The short confirmation shown on the Accept button itself."""
    return translator(lang)._("Accepted")


def contact_card(lang: str, order: OrderView) -> Outbound:
    """The customer's contact, for the technician who accepted (and the pin, if shared)."""
    t = translator(lang)
    contact = [bold(t._("Customer")) + f" — {order.reference}", *contact_lines(order, lang)]
    location = None
    if order.latitude is not None and order.longitude is not None:
        contact.append(t._("📍 Location pin below."))
        location = (order.latitude, order.longitude)
    contact.append("")
    contact.append(t._("Please call the customer to confirm the visit."))
    return Outbound("\n".join(contact), location=location)


def offer_passed(lang: str, order: OrderView, message_id: str) -> Outbound:
    """Edit of an offer left unanswered: it has gone to someone else (buttons removed)."""
    t = translator(lang)
    text = "\n".join(
        ("⌛ " + t._("This offer has passed to another technician."), "", *job_lines(order, lang))
    )
    return Outbound(text, replaces=message_id)


def job_declined(lang: str, order: OrderView, message_id: str | None) -> Outbound:
    """After Decline: the notice says so and loses its buttons."""
    t = translator(lang)
    text = "\n".join(("✖ " + t._("You declined this job."), "", *job_lines(order, lang)))
    if message_id is None:
        return Outbound(text)
    return Outbound(text, replaces=message_id)


#: Why an offer can no longer be answered, as its technician is told (see :func:`why_closed`).
CLOSED_REASONS = {
    "declined": N_("You declined this job."),
    "yours": N_("You already have this job: /jobs shows it with the customer's contact."),
    "done": N_("You have done this job already."),
    "given_back": N_("You gave this job back."),
    "cancelled": N_("This job was cancelled."),
    "taken": N_("Another technician took this job."),
    "expired": N_("This offer expired: it was not answered in time."),
}


def why_closed(
    offer_status: str, order_status: str | None, order_technician: int | None, me: int
) -> str:
    """Return why an offer to ``me`` is closed: a key of :data:`CLOSED_REASONS`.

    Only what the database says counts: the order's state and who holds it now, then the
    offer's answer. A job that is theirs now (accepted, or given to them by our team after
    they declined) is said first: that is what they can act on.
    """
    if order_technician == me and order_status in ("assigned", "on_the_way"):
        return "yours"
    if order_technician == me and order_status == "done":
        return "done"
    if offer_status == "declined":
        return "declined"
    if order_status == "cancelled":
        return "cancelled"
    if offer_status == "accepted":
        return "given_back"
    if order_technician is not None and order_technician != me:
        return "taken"
    return "expired"


def job_gone(lang: str, reason: str = "expired") -> Outbound:
    """Said when a press arrives on an offer that was already answered or moved on."""
    return Outbound(translator(lang)._(CLOSED_REASONS.get(reason, CLOSED_REASONS["expired"])))


def not_yours(lang: str) -> Outbound:
    """Said when someone presses a job button of an offer that was not made to them."""
    return Outbound(translator(lang)._("This job was not offered to you."))


def channel_name(channel: str | None) -> str:
    """The name of a channel as the operators read it (``WhatsApp``)."""
    if channel is None:
        return ""
    return CHANNEL_NAMES.get(channel, channel.capitalize())


def with_channel(name: str, channel: str | None) -> str:
    """``name`` with its channel beside it, for the operators: ``Rahim (WhatsApp)``.

    Telegram, where the operators themselves are and every person was before WhatsApp, goes
    unsaid: a name without a channel is someone on Telegram.
    """
    if channel is None or channel == TELEGRAM:
        return name
    return f"{name} ({channel_name(channel)})"


def admin_unassigned(
    order: OrderView,
    choices: list[tuple[int, str]] | None = None,
    *,
    channel: str | None = None,
) -> Outbound:
    """The operators' copy of an order no technician took, with buttons to assign one.

    ``channel``: where the customer booked, shown beside their name; a choice's name may
    carry its technician's (:func:`with_channel`).
    """
    t = translator("en")
    contact = contact_lines(order, "en")
    contact[0] = with_channel(contact[0], channel)  # "Name: Rahim (WhatsApp)"
    lines = [
        "⚠️ " + bold(t._("No technician took this job")),
        "",
        *job_lines(order, "en"),
        *contact,
    ]
    buttons = tuple(
        (
            Button(
                t._("Assign {name}").format(name=one_line(name))[:60],
                assign_data(order.order_id, tech),
            ),
        )
        for tech, name in (choices or [])
    )
    if not buttons:
        lines += ["", t._("No technician does this service in this area: call the customer.")]
    return Outbound("\n".join(lines), buttons=buttons)


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


def assigned_by_operator(order: OrderView, name: str, message_id: str | None) -> Outbound:
    """The operators' message after a hand assignment (buttons removed)."""
    t = translator("en")
    text = "\n".join(
        (
            "✅ " + t._("Assigned to {name}.").format(name=esc_line(name)),
            "",
            *job_lines(order, "en"),
        )
    )
    return Outbound(text, replaces=message_id)


def assigned_to_you(lang: str, order: OrderView) -> Outbound:
    """Told to a technician the operators assigned a job to by hand."""
    t = translator(lang)
    text = "\n".join(
        ("📌 " + bold(t._("Our team assigned you this job.")), "", *job_lines(order, lang))
    )
    return Outbound(text)


def jobs_list(lang: str, orders: list[OrderView]) -> Outbound:
    """/jobs: the technician's open jobs, with the contact of each (they accepted them)."""
    t = translator(lang)
    if not orders:
        return Outbound(t._("You have no open jobs."))
    blocks = [bold(t._("Your open jobs"))]
    for order in orders:
        blocks.append("\n".join((*job_lines(order, lang), *contact_lines(order, lang))))
    return Outbound("\n\n".join(blocks))


def offer_withdrawn(lang: str, order: OrderView, message_id: str) -> Outbound:
    """Edit of an unanswered offer whose order the customer cancelled (buttons removed)."""
    t = translator(lang)
    text = "\n".join(
        ("❌ " + t._("The customer cancelled this job."), "", *job_lines(order, lang))
    )
    return Outbound(text, replaces=message_id)
