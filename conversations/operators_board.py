"""The operators' view of the work: open orders by state, technicians, hand assignment.

What ``/orders`` and ``/technicians`` show in the operators' chat, and the answers to an
escalation's *Assign* buttons. Nothing personal of customers: references, services, areas,
visits, states. Technicians are staff: the operators see their names (as on the escalation's
*Assign* buttons), their phones masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from conversations.catalogue import OTHER_AREA, area_label, service_label
from conversations.digits import localize_digits
from conversations.i18n import N_, translator
from conversations.jobs import with_channel
from conversations.outbound import MAX_TEXT, Outbound
from conversations.phone import mask
from conversations.slots import format_visit
from conversations.text import bold, esc, one_line, shorten

#: The order states /orders lists, most in need of a person first.
OPEN_STATES = ("unassigned", "new", "offered", "assigned", "on_the_way")
STATE_NAMES = {
    "unassigned": N_("Unassigned: no technician took them"),
    "new": N_("New: not offered yet"),
    "offered": N_("Offered: waiting for an answer"),
    "assigned": N_("Assigned"),
    "on_the_way": N_("On the way"),
}


@dataclass(frozen=True, slots=True)
class OpenOrderLine:
    """An open order as /orders shows it: no customer data."""

    reference: str
    service: str
    area: str
    visit_date: date
    visit_part: str
    status: str
    created_at: datetime
    technician_id: int | None = None
    technician_name: str | None = None


@dataclass(frozen=True, slots=True)
class TechnicianLine:
    """A technician as /technicians shows them."""

    technician_id: int
    name: str | None
    phone: str | None
    status: str
    active: bool
    available: bool
    open_jobs: int
    rating: float | None
    ratings: int
    #: Where they are reached (``telegram``, ``whatsapp``): shown beside the name.
    channel: str | None = None


def age(elapsed: timedelta, lang: str) -> str:
    """Return how long ago, shortly: ``45m``, ``3h``, ``2d``."""
    t = translator(lang)
    minutes = max(0, int(elapsed.total_seconds() // 60))
    if minutes < 60:
        shown = t._("{n}m").format(n=minutes)
    elif minutes < 48 * 60:
        shown = t._("{n}h").format(n=minutes // 60)
    else:
        shown = t._("{n}d").format(n=minutes // (24 * 60))
    return localize_digits(shown, lang)


def _order_line(order: OpenOrderLine, lang: str, now: datetime) -> str:
    if order.technician_id is None:
        technician = "—"
    else:
        number = localize_digits("#" + str(order.technician_id), lang)
        technician = (
            esc(shorten(one_line(order.technician_name), 40)) + " " + number
            if order.technician_name
            else number
        )
    return " · ".join(
        (
            bold(order.reference),
            esc(service_label(order.service, lang)),
            # A typed area ("other") is the customer's words: not repeated in the group.
            esc(
                area_label(order.area, lang)
                if order.area != OTHER_AREA
                else translator(lang)._("other area")
            ),
            esc(format_visit(order.visit_date, order.visit_part, lang)),
            technician,
            age(now - order.created_at, lang),
        )
    )


def open_orders(
    lang: str,
    orders: Sequence[OpenOrderLine],
    counts: dict[str, int],
    now: datetime,
) -> Outbound:
    """/orders: open orders by state, oldest first, in one message (a count of the rest)."""
    t = translator(lang)
    total = sum(counts.values())
    if not total:
        return Outbound(t._("No open orders."))
    text = (
        bold(t._("Open orders"))
        + " · "
        + localize_digits(str(total), lang)
        + " · "
        + t._("oldest first; reference, service, area, visit, technician, age")
    )
    shown = 0
    cut = False
    for state in OPEN_STATES:
        rows = [order for order in orders if order.status == state]
        if not counts.get(state):
            continue
        header = (
            "\n\n"
            + bold(t._(STATE_NAMES[state]))
            + " ("
            + localize_digits(str(counts[state]), lang)
            + ")"
        )
        if len(text) + len(header) + _MORE_ROOM > MAX_TEXT:
            cut = True
            break
        text += header
        for order in rows:
            line = "\n" + _order_line(order, lang, now)
            if len(text) + len(line) + _MORE_ROOM > MAX_TEXT:
                cut = True
                break
            text += line
            shown += 1
        if cut:
            break
    hidden = total - shown
    if hidden > 0:
        more = t._("… {n} more open orders are not shown.").format(n=hidden)
        text += "\n\n" + localize_digits(more, lang)
    return Outbound(text)


#: Room kept at the end of a list for the line that counts what is not shown.
_MORE_ROOM = 80


def _name_and_channel(technician: TechnicianLine) -> str:
    name = esc(shorten(one_line(technician.name), 40)) if technician.name else "—"
    return with_channel(name, technician.channel)


def _technician_line(technician: TechnicianLine, lang: str) -> str:
    t = translator(lang)
    if not technician.active:
        standing = t._("disabled")
    else:
        standing = t._(APPLICATION_STATES.get(technician.status, technician.status))
    rating = (
        t._("no ratings")
        if technician.rating is None
        else "★ " + localize_digits(f"{technician.rating:.1f} ({technician.ratings})", lang)
    )
    return " · ".join(
        (
            bold(localize_digits("#" + str(technician.technician_id), lang)),
            _name_and_channel(technician),
            localize_digits(mask(technician.phone), lang) if technician.phone else "—",
            t._("available") if technician.available else t._("away"),
            esc(standing),
            t._("open jobs: {n}").format(n=localize_digits(str(technician.open_jobs), lang)),
            rating,
        )
    )


#: A technician's standing as the operators read it.
APPLICATION_STATES = {
    "approved": N_("approved"),
    "pending": N_("pending approval"),
    "rejected": N_("rejected"),
}


def technicians_list(lang: str, technicians: Sequence[TechnicianLine]) -> Outbound:
    """/technicians: each with availability, standing, open jobs and average rating."""
    t = translator(lang)
    if not technicians:
        return Outbound(t._("No technicians are registered."))
    text = (
        bold(t._("Technicians"))
        + " · "
        + localize_digits(str(len(technicians)), lang)
        + " · "
        + t._("phones masked")
    )
    shown = 0
    for technician in technicians:
        line = "\n" + _technician_line(technician, lang)
        if len(text) + len(line) + _MORE_ROOM > MAX_TEXT:
            break
        text += line
        shown += 1
    hidden = len(technicians) - shown
    if hidden > 0:
        more = t._("… {n} more technicians are not shown.").format(n=hidden)
        text += "\n\n" + localize_digits(more, lang)
    return Outbound(text)


def assign_stale(lang: str, reference: str, status: str) -> Outbound:
    """An Assign press on an order that no longer waits for a technician: nothing changes."""
    t = translator(lang)
    state = t._(STATE_NAMES.get(status, _FINISHED_NAMES.get(status, status)))
    text = t._(
        "Order {reference} no longer waits for a technician ({state}): nothing changed."
    ).format(reference=bold(esc(reference)), state=esc(state))
    return Outbound(text)


_FINISHED_NAMES = {"done": N_("done"), "cancelled": N_("cancelled")}


def assign_unable(lang: str, technician_id: int) -> Outbound:
    """An Assign press naming a technician who cannot take jobs now: nothing changes."""
    t = translator(lang)
    text = t._(
        "Technician #{id} cannot take jobs now (not approved, or disabled): nothing changed."
    ).format(id=localize_digits(str(technician_id), lang))
    return Outbound(text)


def assigned_toast(lang: str) -> str:
    """The short confirmation shown on the Assign button itself."""
    return translator(lang)._("Assigned")
