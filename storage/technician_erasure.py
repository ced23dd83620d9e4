"""Erasing a technician: personal fields gone, no more offers, an anonymous row kept.

The row stays so that past orders keep their ``technician_id`` (who did which job, for the
accounts), but nothing in it or in the job offers identifies the person any more: name, phone
and its blind index are cleared, and the Telegram id (on the row and on every offer) is
replaced by a placeholder no Telegram user has.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import job_messages, outbox, technicians
from storage.job_messages import JobMessages
from storage.models import (
    JobOffer,
    OfferStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)

#: Orders a technician is still expected at.
_UNFINISHED = (OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY)
#: What job offers of a technician who left carry instead of their chat id.
NO_CHAT = 0


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
    applications: tuple[tuple[int, int], ...] = ()


def placeholder_telegram_id(technician_id: int) -> int:
    """Return the Telegram id an erased technician's row carries (negative: no user has it)."""
    return -technician_id


async def erase_technician(db: AsyncSession, *, telegram_id: int) -> TechnicianErasure | None:
    """Erase the technician of ``telegram_id`` (not committed); None if there is none.

    Deactivates them, moves their unfinished orders to unassigned, lapses their pending offers
    and clears their name, phone, phone index, base location and Telegram id.
    """
    technician = await technicians.get_by_telegram_id(db, telegram_id=telegram_id)
    if technician is None or technician.id is None:
        return None
    technician_id, now = technician.id, utcnow()
    # Notices addressed to them (their chat id is personal), sent or not; their application
    # to the operators if it has not gone out, and the link to it if it has.
    await db.exec(delete(OutboxMessage).where(col(OutboxMessage.chat_id) == telegram_id))
    about_them = col(OutboxMessage.technician_id) == technician_id
    await db.exec(
        delete(OutboxMessage)
        .where(about_them)
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
    )
    sent = await outbox.sent_about(
        await db.connection(), kind=outbox.APPLICATION, technician_id=technician_id
    )
    applications = tuple((copy.chat_id, copy.message_id) for copy in sent)
    await db.exec(update(OutboxMessage).where(about_them).values(technician_id=None))
    unfinished = (
        await db.exec(
            select(Order)
            .where(Order.technician_id == technician_id)
            .where(col(Order.status).in_(_UNFINISHED))
            .order_by(col(Order.id))
        )
    ).all()
    moved = [order.id or 0 for order in unfinished]
    references = tuple(order.reference for order in unfinished)
    pending = (
        await db.exec(
            select(JobOffer.order_id)
            .join(Order, col(Order.id) == col(JobOffer.order_id))
            .where(JobOffer.technician_id == technician_id)
            .where(JobOffer.status == OfferStatus.PENDING)
            .where(Order.status == OrderStatus.OFFERED)
            .order_by(col(JobOffer.id))
        )
    ).all()
    reoffer = tuple(dict.fromkeys(pending))
    # Read before the offers lose their chat id below.
    messages = await job_messages.of_orders(
        db, order_ids=[*moved, *reoffer], technician_id=technician_id
    )
    if moved:
        await db.exec(
            update(Order)
            .where(col(Order.id).in_(moved))
            .values(status=OrderStatus.UNASSIGNED, technician_id=None, updated_at=now)
        )
    await db.exec(
        update(JobOffer)
        .where(col(JobOffer.technician_id) == technician_id)
        .where(col(JobOffer.status) == OfferStatus.PENDING)
        .values(status=OfferStatus.EXPIRED, answered_at=now)
    )
    await db.exec(
        update(JobOffer)
        .where(col(JobOffer.technician_id) == technician_id)
        .values(chat_id=NO_CHAT)
    )
    technician.name = technician.phone = None
    technician.phone_index = None
    technician.base_latitude = technician.base_longitude = None
    technician.active = False
    technician.telegram_id = placeholder_telegram_id(technician_id)
    db.add(technician)
    await db.flush()
    return TechnicianErasure(technician_id, references, reoffer, messages, applications)
