"""Erasing a customer: the profile, the personal fields of their orders, their session."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import customers
from storage.models import ConversationSession, Order, OrderStatus, utcnow

#: Order columns that identify or describe the person; erased, the rest stays anonymous.
PERSONAL_ORDER_FIELDS = (
    "name",
    "phone",
    "address",
    "latitude",
    "longitude",
    "problem",
    "area_other",
)
_OPEN = (OrderStatus.NEW, OrderStatus.OFFERED, OrderStatus.ASSIGNED, OrderStatus.UNASSIGNED)


async def erase_customer(db: AsyncSession, *, telegram_id: int) -> bool:
    """Erase everything personal about ``telegram_id`` (not committed); False if nothing held."""
    customer = await customers.get(db, telegram_id=telegram_id)
    session = await db.get(ConversationSession, telegram_id)
    # A bare session (idle, only a language choice) is erased too, but is not "data held".
    held_answers = session is not None and (session.flow != "idle" or bool(session.data))
    await db.exec(
        delete(ConversationSession).where(col(ConversationSession.user_id) == telegram_id)
    )
    if customer is None:
        return held_answers
    owned = col(Order.customer_id) == customer.id
    await db.exec(
        update(Order)
        .where(owned)
        .where(col(Order.status).in_(_OPEN))
        .values(status=OrderStatus.CANCELLED, updated_at=utcnow())
    )
    await db.exec(
        update(Order).where(owned).values(customer_id=None, **dict.fromkeys(PERSONAL_ORDER_FIELDS))
    )
    await db.delete(customer)
    await db.flush()
    return True
