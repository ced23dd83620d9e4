"""Erasing a technician: personal fields gone, no more offers, an anonymous row kept.

The row stays so that past orders keep their ``technician_id`` (who did which job, for the
accounts), but nothing in it or in the job offers identifies the person any more: name, phone
and its blind index are cleared, and their address (on the row, and the chat on every offer)
is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, delete, select, update
from sqlmodel import col

from conversations.events import Address
from storage import job_messages, outbox, technicians
from storage.database import Tx
from storage.job_messages import JobMessages
from storage.models import (
    JobOffer,
    OfferStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Technician,
    utcnow,
)

#: Orders a technician is still expected at.
_UNFINISHED = (OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY)
_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class TechnicianErasure:
    """What erasing a technician changed, for the messages that follow the commit."""

    technician_id: int
    #: References of their unfinished orders, now unassigned (the operators are told).
    unassigned: tuple[str, ...]
    #: Orders whose pending offer to them lapsed: to be offered to the next technician.
    reoffer: tuple[int, ...]
    #: Their job messages of those orders, to be removed from their chat.
    messages: tuple[JobMessages, ...]
    #: (chat, message id) of their application as the operators got it, name and phone shown.
    applications: tuple[tuple[Address, str], ...] = ()


async def erase_technician(tx: Tx, *, person: Address) -> TechnicianErasure | None:
    """Erase the technician who is ``person`` (in ``tx``); None if there is none.

    Deactivates them, moves their unfinished orders to unassigned, lapses their pending offers
    and clears their name, phone, phone index, base location and address.
    """
    technician = await technicians.find(tx, person=person)
    if technician is None or technician.id is None:
        return None
    technician_id, now = technician.id, utcnow()
    # Notices addressed to them (their chat id is personal), sent or not; their application
    # to the operators if it has not gone out, and the link to it if it has.
    await tx.execute(
        delete(OutboxMessage)
        .where(col(OutboxMessage.channel) == person.channel)
        .where(col(OutboxMessage.chat_id) == person.id)
    )
    about_them = col(OutboxMessage.technician_id) == technician_id
    await tx.execute(
        delete(OutboxMessage)
        .where(about_them)
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
    )
    sent = await outbox.sent_about(tx, kind=outbox.APPLICATION, technician_id=technician_id)
    applications = tuple((copy.chat, copy.message_id) for copy in sent)
    await tx.execute(update(OutboxMessage).where(about_them).values(technician_id=None))
    unfinished = (
        await tx.execute(
            select(_orders.c.id, _orders.c.reference)
            .where(_orders.c.technician_id == technician_id)
            .where(_orders.c.status.in_([str(status) for status in _UNFINISHED]))
            .order_by(_orders.c.id)
        )
    ).all()
    moved = [order_id for order_id, _ in unfinished]
    references = tuple(reference for _, reference in unfinished)
    pending = (
        await tx.execute(
            select(col(JobOffer.order_id))
            .join(Order, col(Order.id) == col(JobOffer.order_id))
            .where(col(JobOffer.technician_id) == technician_id)
            .where(col(JobOffer.status) == OfferStatus.PENDING)
            .where(col(Order.status) == OrderStatus.OFFERED)
            .order_by(col(JobOffer.id))
        )
    ).scalars()
    reoffer = tuple(dict.fromkeys(pending))
    # Read before the offers lose their chat below.
    messages = await job_messages.of_orders(
        tx, order_ids=[*moved, *reoffer], technician_id=technician_id
    )
    if moved:
        await tx.execute(
            update(Order)
            .where(col(Order.id).in_(moved))
            .values(status=OrderStatus.UNASSIGNED, technician_id=None, updated_at=now)
        )
    await tx.execute(
        update(JobOffer)
        .where(col(JobOffer.technician_id) == technician_id)
        .where(col(JobOffer.status) == OfferStatus.PENDING)
        .values(status=OfferStatus.EXPIRED, answered_at=now)
    )
    await tx.execute(
        update(JobOffer).where(col(JobOffer.technician_id) == technician_id).values(chat_id=None)
    )
    await tx.execute(
        update(_technicians)
        .where(_technicians.c.id == technician_id)
        .values(
            name=None,
            phone=None,
            phone_index=None,
            base_latitude=None,
            base_longitude=None,
            active=False,
            external_id=None,
        )
    )
    return TechnicianErasure(technician_id, references, reoffer, messages, applications)
