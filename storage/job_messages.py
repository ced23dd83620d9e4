"""Job messages in technicians' chats, found again when the data they show must go.

A job offer keeps the chat and message id of its notice and, after Accept, of the contact
message and its location pin; ``job_views`` keeps the later messages that show the contact
again (``/jobs`` answers, corrected-contact notices). When a customer is erased (or a
technician leaves), these are what the core deletes, or redacts where the channel refuses the
deletion (Telegram, past 48 hours).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, and_, bindparam, exists, func, insert, select

from conversations.events import Address
from storage import outbox
from storage.database import Tx, Write
from storage.models import (
    JobOffer,
    JobView,
    OfferStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    Technician,
)

_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]
_views: Table = JobView.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_WITH_TECHNICIAN = (OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY)


@dataclass(frozen=True, slots=True)
class JobMessages:
    """The messages one offer left in one technician's chat.

    Also an order's escalation in the operators' chat (``offer_id`` 0): the order with the
    customer's contact, sent when no technician took it.
    """

    offer_id: int
    order_id: int
    reference: str
    chat: Address
    lang: str
    notice_id: str | None
    contact_id: str | None
    location_id: str | None
    #: Later messages showing the contact again (``/jobs`` answers, corrected contacts).
    view_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AssignedJob:
    """An open order's assigned technician, to be told (by reference) that it is cancelled."""

    reference: str
    chat: Address
    lang: str


@dataclass(frozen=True, slots=True)
class CustomerJobs:
    """What a customer's orders left with technicians: messages, and who is assigned."""

    order_ids: tuple[int, ...] = ()
    messages: tuple[JobMessages, ...] = ()
    assigned: tuple[AssignedJob, ...] = ()


async def of_orders(
    tx: Tx,
    *,
    order_ids: Collection[int],
    technician_id: int | None = None,
) -> tuple[JobMessages, ...]:
    """Return the job messages of ``order_ids`` (only ``technician_id``'s, when given)."""
    if not order_ids:
        return ()
    statement = (
        select(
            _offers.c.id,
            _offers.c.order_id,
            _orders.c.reference,
            _offers.c.channel,
            _offers.c.chat_id,
            _technicians.c.lang,
            _offers.c.message_id,
            _offers.c.contact_message_id,
            _offers.c.location_message_id,
        )
        .join(_orders, _orders.c.id == _offers.c.order_id)
        .join(_technicians, _technicians.c.id == _offers.c.technician_id)
        .where(_offers.c.order_id.in_(list(order_ids)))
        # A technician who left has no chat on record any more (see technician_erasure).
        .where(_offers.c.chat_id.is_not(None))
        .order_by(_offers.c.id)
    )
    if technician_id is not None:
        statement = statement.where(_offers.c.technician_id == technician_id)
    rows = (await tx.execute(statement)).all()
    shown: dict[int, list[str]] = {}
    if rows:
        query = (
            select(_views.c.offer_id, _views.c.message_id)
            .where(_views.c.offer_id.in_([row[0] for row in rows]))
            # Ids are text: shorter first keeps a channel's numbers in their order.
            .order_by(func.length(_views.c.message_id), _views.c.message_id)
        )
        for offer_id, message_id in (await tx.execute(query)).all():
            shown.setdefault(offer_id, []).append(message_id)
    found = (
        JobMessages(
            offer_id,
            order_id,
            reference,
            Address(channel, chat_id),
            lang,
            notice,
            contact,
            pin,
            view_ids=tuple(shown.get(offer_id, ())),
        )
        for offer_id, order_id, reference, channel, chat_id, lang, notice, contact, pin in rows
    )
    return tuple(
        job for job in found if job.notice_id or job.contact_id or job.location_id or job.view_ids
    )


async def of_customer(tx: Tx, *, customer_id: int) -> CustomerJobs:
    """Return what ``customer_id``'s orders left with technicians (read before erasing)."""
    orders = (
        await tx.execute(
            select(
                _orders.c.id,
                _orders.c.reference,
                _orders.c.status,
                _technicians.c.channel,
                _technicians.c.external_id,
                _technicians.c.lang,
            )
            .select_from(_orders)
            .outerjoin(_technicians, _technicians.c.id == _orders.c.technician_id)
            .where(_orders.c.customer_id == customer_id)
            .order_by(_orders.c.id)
        )
    ).all()
    assigned = tuple(
        AssignedJob(row.reference, Address(row.channel, row.external_id), row.lang)
        for row in orders
        # Only these have someone planning a visit; a technician who left has no chat.
        if row.status in _WITH_TECHNICIAN and row.external_id is not None
    )
    order_ids = tuple(row.id for row in orders)
    # The order as the operators' chat got it, when no technician took it: its contact too.
    references = {row.id: row.reference for row in orders}
    sent = await outbox.sent_about(tx, kind=outbox.ESCALATION, customer_id=customer_id)
    escalations = tuple(
        JobMessages(
            offer_id=0,
            order_id=copy.order_id,
            reference=references[copy.order_id],
            chat=copy.chat,
            lang=_OPERATORS_LANGUAGE,
            notice_id=copy.message_id,
            contact_id=None,
            location_id=copy.location_message_id,
        )
        for copy in sent
        if copy.order_id is not None and copy.order_id in references
    )
    messages = (*await of_orders(tx, order_ids=order_ids), *escalations)
    return CustomerJobs(order_ids, messages, assigned)


#: The operators' chat is addressed in English (see ``conversations.jobs.admin_unassigned``).
_OPERATORS_LANGUAGE = "en"


async def accepted_offers(
    tx: Tx, *, technician_id: int, order_ids: Collection[int]
) -> dict[int, int]:
    """Return, per order, the id of ``technician_id``'s accepted offer of it (the latest)."""
    if not order_ids:
        return {}
    rows = await tx.execute(
        select(_offers.c.order_id, func.max(_offers.c.id))
        .where(_offers.c.technician_id == technician_id)
        .where(_offers.c.order_id.in_(list(order_ids)))
        .where(_offers.c.status == str(OfferStatus.ACCEPTED))
        .group_by(_offers.c.order_id)
    )
    return {order_id: offer_id for order_id, offer_id in rows.all()}


#: One view, kept only while its offer still names a chat (a technician who left has none)
#: and only once (an edited message keeps its id).
_ADD_VIEW = insert(_views).from_select(
    ["offer_id", "message_id"],
    select(bindparam("shown_offer"), bindparam("shown_message")).where(
        exists().where(
            and_(_offers.c.id == bindparam("shown_offer"), _offers.c.chat_id.is_not(None))
        ),
        ~exists().where(
            and_(
                _views.c.offer_id == bindparam("shown_offer"),
                _views.c.message_id == bindparam("shown_message"),
            )
        ),
    ),
)


def views(shown: Sequence[tuple[int, str]]) -> list[Write]:
    """The writes that keep ``(offer id, message id)`` pairs of messages showing a contact."""
    return [
        (_ADD_VIEW, {"shown_offer": offer, "shown_message": message}) for offer, message in shown
    ]


async def offer_copies(tx: Tx, *, offer_id: int) -> tuple[str, ...]:
    """Return the copies an offer's notice left besides the message the offer names.

    An attempt whose outcome was unknown may have put the notice in the chat, and its retry
    then put it there again: both carry live buttons until the offer ends.
    """
    rows = await tx.execute(
        select(_outbox.c.copies)
        .where(_outbox.c.offer_id == offer_id)
        .where(_outbox.c.kind == "offer")
        .where(_outbox.c.copies.is_not(None))
    )
    return tuple(copy for (copies,) in rows.all() for copy in outbox.split_copies(copies))
