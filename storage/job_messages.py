"""Job messages in technicians' chats, found again when the data they show must go.

A job offer keeps the chat and message id of its notice and, after Accept, of the contact
message and its location pin. When a customer is erased (or a technician leaves), these are
what the bot deletes, or redacts where Telegram refuses the deletion.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import JobOffer, Order, OrderStatus, Technician

_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_WITH_TECHNICIAN = (OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY)


@dataclass(frozen=True, slots=True)
class JobMessages:
    """The messages one offer left in one technician's chat."""

    offer_id: int
    order_id: int
    reference: str
    chat_id: int
    lang: str
    notice_id: int | None
    contact_id: int | None
    location_id: int | None


@dataclass(frozen=True, slots=True)
class AssignedJob:
    """An open order's assigned technician, to be told (by reference) that it is cancelled."""

    reference: str
    chat_id: int
    lang: str


@dataclass(frozen=True, slots=True)
class CustomerJobs:
    """What a customer's orders left with technicians: messages, and who is assigned."""

    order_ids: tuple[int, ...] = ()
    messages: tuple[JobMessages, ...] = ()
    assigned: tuple[AssignedJob, ...] = ()


async def _connection(db: AsyncSession | AsyncConnection) -> AsyncConnection:
    # The session's own connection: one pooled SQLite connection, never a second one.
    return await db.connection() if isinstance(db, AsyncSession) else db


async def of_orders(
    db: AsyncSession | AsyncConnection,
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
        .where(_offers.c.chat_id > 0)
        .order_by(_offers.c.id)
    )
    if technician_id is not None:
        statement = statement.where(_offers.c.technician_id == technician_id)
    rows = (await (await _connection(db)).execute(statement)).all()
    return tuple(JobMessages(*row) for row in rows if any(row[5:]))


async def of_customer(db: AsyncSession | AsyncConnection, *, customer_id: int) -> CustomerJobs:
    """Return what ``customer_id``'s orders left with technicians (read before erasing)."""
    conn = await _connection(db)
    orders = (
        await conn.execute(
            select(
                _orders.c.id,
                _orders.c.reference,
                _orders.c.status,
                _technicians.c.telegram_id,
                _technicians.c.lang,
            )
            .select_from(_orders)
            .outerjoin(_technicians, _technicians.c.id == _orders.c.technician_id)
            .where(_orders.c.customer_id == customer_id)
            .order_by(_orders.c.id)
        )
    ).all()
    assigned = tuple(
        AssignedJob(row.reference, row.telegram_id, row.lang)
        for row in orders
        # Only these have someone planning a visit; a technician who left has no chat.
        if row.status in _WITH_TECHNICIAN and (row.telegram_id or 0) > 0
    )
    order_ids = tuple(row.id for row in orders)
    return CustomerJobs(order_ids, await of_orders(conn, order_ids=order_ids), assigned)
