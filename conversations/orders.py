"""/myorders and the messages about one order that go to its customer."""

from __future__ import annotations

from conversations.catalogue import area_label, service_label
from conversations.digits import localize_digits
from conversations.i18n import N_, translator
from conversations.outbound import Outbound
from conversations.phone import national_form
from conversations.slots import dhaka_date, format_day, format_visit
from conversations.text import bold, esc
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


def my_orders(chat_id: int, lang: str, orders: list[OrderView]) -> Outbound:
    """Render a customer's orders, newest first."""
    t = translator(lang)
    if not orders:
        return Outbound(chat_id, t._("You have no orders yet. Send /book to book a technician."))
    blocks = [bold(t._("Your orders"))]
    blocks.extend(
        f"<b>{order.reference}</b> · {esc(service_label(order.service, lang))}\n"
        f"{format_day(dhaka_date(order.created_at), lang)} · {status_label(order.status, lang)}"
        for order in orders
    )
    return Outbound(chat_id, "\n\n".join(blocks))


def order_confirmed(chat_id: int, lang: str, order: OrderView) -> Outbound:
    """Tell the customer their booking is stored, with its reference and what happens next."""
    t = translator(lang)
    text = "\n".join(
        (
            t._("✅ <b>Booking confirmed.</b> Your reference: <b>{reference}</b>").format(
                reference=order.reference
            ),
            f"{esc(service_label(order.service, lang))} · "
            f"{esc(area_label(order.area, lang, order.area_other))} · "
            f"{esc(format_visit(order.visit_date, order.visit_part, lang))}",
            "",
            t._(
                "We are finding a technician now; you will get their name and phone here as soon"
                " as one accepts. /myorders shows the status."
            ),
        )
    )
    return Outbound(chat_id, text, remove_keys=True)


def technician_coming(chat_id: int, lang: str, order: OrderView, tech: TechnicianView) -> Outbound:
    """Tell the customer who is coming."""
    t = translator(lang)
    text = "\n".join(
        (
            t._("👷 <b>{name}</b> will do your job {reference}.").format(
                name=esc(tech.name), reference=order.reference
            ),
            t._("Phone: {phone}").format(phone=localize_digits(national_form(tech.phone), lang)),
            t._("When: {visit}").format(
                visit=esc(format_visit(order.visit_date, order.visit_part, lang))
            ),
        )
    )
    return Outbound(chat_id, text)


def team_will_call(chat_id: int, lang: str, order: OrderView) -> Outbound:
    """Tell the customer no technician was free and a person will call."""
    t = translator(lang)
    text = t._(
        "No technician is free for {reference} right now. Our team will call you soon to"
        " arrange one."
    ).format(reference=order.reference)
    return Outbound(chat_id, text)
