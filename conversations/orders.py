"""/myorders and the messages about one order that go to its customer."""

from __future__ import annotations

from dataclasses import dataclass, replace

from conversations.catalogue import area_label, service_label
from conversations.common import talk_buttons
from conversations.digits import localize_digits
from conversations.i18n import N_, translator
from conversations.outbound import Button, Outbound
from conversations.phone import national_form
from conversations.slots import visit_line
from conversations.text import ASCII_NUMBER, bold, esc, esc_line
from conversations.views import OrderView, TechnicianView

STATUS_NAMES = {
    "new": N_("received"),
    "offered": N_("looking for a technician"),
    "assigned": N_("technician assigned"),
    "unassigned": N_("our team will call you"),
    "on_the_way": N_("technician on the way"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}


def status_label(status: str, lang: str) -> str:
    """Return an order status in plain words."""
    return translator(lang)._(STATUS_NAMES.get(status, status))


def my_orders(lang: str, orders: list[OrderView]) -> Outbound:
    """Render a customer's orders, newest first."""
    t = translator(lang)
    if not orders:
        return Outbound(t._("You have no orders yet. Send /book to book a technician."))
    blocks = [bold(t._("Your orders"))]
    # The date shown is the visit's, said so: the day of booking means nothing to act on.
    blocks.extend(
        f"<b>{order.reference}</b> · {esc(service_label(order.service, lang))}"
        f" · {status_label(order.status, lang)}\n"
        f"{esc(visit_line(order.visit_date, order.visit_part, lang))}"
        for order in orders
    )
    return Outbound("\n\n".join(blocks))


def too_many_open(lang: str, limit: int) -> Outbound:
    """Said when a customer with ``limit`` open orders asks for one more."""
    t = translator(lang)
    text = t.ngettext(
        "You already have {n} open order. /myorders shows it; you can book again once it is"
        " done or cancelled.",
        "You already have {n} open orders. /myorders shows them; you can book again once one"
        " is done or cancelled.",
        limit,
    ).format(n=localize_digits(str(limit), lang))
    return Outbound(text)


def order_confirmed(lang: str, order: OrderView) -> Outbound:
    """Tell the customer their booking is stored, with its reference and what happens next."""
    t = translator(lang)
    text = "\n".join(
        (
            t._("✅ <b>Booking confirmed.</b> Your reference: <b>{reference}</b>").format(
                reference=order.reference
            ),
            f"{esc(service_label(order.service, lang))} · "
            f"{esc_line(area_label(order.area, lang, order.area_other))}",
            esc(visit_line(order.visit_date, order.visit_part, lang)),
            "",
            t._(
                "We are finding a technician now; you will get their name and phone here as soon"
                " as one accepts. /myorders shows the status."
            ),
        )
    )
    return Outbound(text, remove_keys=True)


def technician_coming(lang: str, order: OrderView, tech: TechnicianView) -> Outbound:
    """Tell the customer who is coming."""
    t = translator(lang)
    text = "\n".join(
        (
            t._("👷 <b>{name}</b> will do your job {reference}.").format(
                name=esc_line(tech.name), reference=order.reference
            ),
            t._("Phone: {phone}").format(phone=localize_digits(national_form(tech.phone), lang)),
            esc(visit_line(order.visit_date, order.visit_part, lang)),
        )
    )
    return Outbound(text)


def team_will_call(lang: str, order: OrderView) -> Outbound:
    """Tell the customer no technician was free and a person will call."""
    t = translator(lang)
    text = t._(
        "No technician is free for {reference} right now. Our team will call you soon to"
        " arrange one."
    ).format(reference=order.reference)
    return Outbound(text, buttons=talk_buttons(lang))


# --- the customer cancels an open order; what the customer hears of the job's progress ------

#: Orders a customer can still cancel (nothing is done or over yet).
OPEN_STATUSES = ("new", "offered", "assigned", "unassigned", "on_the_way")
#: Button data ``ord:<action>:<order>``: ask to cancel, Yes, No.
PREFIX = "ord"
ASK_CANCEL = "cx"
YES_CANCEL = "cy"
NO_CANCEL = "cn"
_ORDER_ACTIONS = (ASK_CANCEL, YES_CANCEL, NO_CANCEL)


@dataclass(frozen=True, slots=True)
class OrderButton:
    """A parsed press on an order's button; a hint of what was meant, never proof."""

    action: str
    order_id: int


def order_data(action: str, order_id: int) -> str:
    """Return the button data of an order action (``ord:cx:17``)."""
    return f"{PREFIX}:{action}:{order_id}"


def parse_order_button(data: str) -> OrderButton | None:
    """Parse ``ord:cx|cy|cn:<order>``."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in _ORDER_ACTIONS:
        return None
    if not ASCII_NUMBER.fullmatch(parts[2]):
        return None
    return OrderButton(parts[1], int(parts[2]))


def my_orders_menu(lang: str, orders: list[OrderView]) -> Outbound:
    """/myorders with a Cancel button under it for each open order."""
    t = translator(lang)
    listing = my_orders(lang, orders)
    buttons = tuple(
        (
            Button(
                t._("✖ Cancel {reference}").format(reference=order.reference),
                order_data(ASK_CANCEL, order.order_id),
            ),
        )
        for order in orders
        if order.status in OPEN_STATUSES
    )
    return replace(listing, buttons=buttons)


def confirm_cancel(lang: str, order: OrderView) -> Outbound:
    """Ask before cancelling an order."""
    t = translator(lang)
    text = "\n".join(
        (
            bold(t._("Cancel order {reference}?").format(reference=order.reference)),
            esc(service_label(order.service, lang)),
            esc(visit_line(order.visit_date, order.visit_part, lang)),
            t._("If a technician is already assigned, we will tell them."),
        )
    )
    buttons = (
        (
            Button(t._("Yes, cancel it"), order_data(YES_CANCEL, order.order_id)),
            Button(t._("No, keep it"), order_data(NO_CANCEL, order.order_id)),
        ),
    )
    return Outbound(text, buttons=buttons)


def order_cancelled(lang: str, reference: str, message_id: str | None) -> Outbound:
    """After Yes: the question says the order is cancelled (and loses its buttons)."""
    text = "✅ " + translator(lang)._("Order {reference} is cancelled.").format(
        reference=bold(reference)
    )
    return Outbound(text, replaces=message_id)


def order_kept(lang: str, reference: str, message_id: str | None) -> Outbound:
    """After No: the question says nothing changed (and loses its buttons)."""
    text = (
        translator(lang)._("Order {reference} stays as it is.").format(reference=bold(reference))
    )
    return Outbound(text, replaces=message_id)


def cannot_cancel(lang: str, reference: str, status: str) -> Outbound:
    """Said when the order is no longer open (done, cancelled already)."""
    t = translator(lang)
    text = t._("Order {reference} can no longer be cancelled: it is {status}.").format(
        reference=bold(reference), status=status_label(status, lang)
    )
    return Outbound(text)


def not_your_order(lang: str) -> Outbound:
    """Said when a button names an order that is not the presser's."""
    return Outbound(translator(lang)._("That order is not yours."))


def technician_on_the_way(lang: str, order: OrderView, technician_name: str) -> Outbound:
    """Tell the customer their technician has set out."""
    t = translator(lang)
    text = t._("🚗 {name} is on the way for your job {reference}.").format(
        name=bold(esc_line(technician_name)), reference=bold(order.reference)
    )
    return Outbound(text)


def technician_cannot_come(lang: str, reference: str, *, finding: bool) -> Outbound:
    """Tell the customer their technician gave the job back (and whether another is sought)."""
    t = translator(lang)
    if finding:
        text = t._(
            "Sorry: the technician for {reference} cannot come. We are finding you another one"
            " and will send their name and phone here."
        )
    else:
        text = t._("Sorry: the technician for {reference} cannot come.")
    return Outbound(text.format(reference=bold(reference)))
