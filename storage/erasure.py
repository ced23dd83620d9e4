"""Erasing a customer: the profile, the personal fields of their orders, their session.

What stays of an order is anonymous: reference, service, area slug, date, status. An order
that was still under way is cancelled, and its offers still waiting for a technician's answer
lapse, so a late Accept can neither revive it nor hand anyone an empty contact.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import customers
from storage.crypto import _Encrypted
from storage.models import (
    ConversationSession,
    JobOffer,
    OfferStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)


def encrypted_columns(model: type[SQLModel]) -> tuple[str, ...]:
    """Return the names of ``model``'s encrypted columns, in table order."""
    table = model.__table__  # type: ignore[attr-defined]
    return tuple(column.name for column in table.columns if isinstance(column.type, _Encrypted))


#: Order columns that identify or describe the person; erased, the rest stays anonymous.
#: Every encrypted column of the model, so a personal column added later is erased too.
PERSONAL_ORDER_FIELDS = encrypted_columns(Order)
#: Statuses after which an order is over; any other is cancelled when its customer is erased.
FINISHED = (OrderStatus.DONE, OrderStatus.CANCELLED)


async def erase_customer(db: AsyncSession, *, telegram_id: int) -> bool:
    """Erase everything personal about ``telegram_id`` (not committed); False if nothing held."""
    customer = await customers.get(db, telegram_id=telegram_id)
    session = await db.get(ConversationSession, telegram_id)
    # A bare session (idle, only a language choice) is erased too, but is not "data held".
    held_answers = session is not None and (session.flow != "idle" or bool(session.data))
    await db.exec(
        delete(ConversationSession).where(col(ConversationSession.user_id) == telegram_id)
    )
    # Notices addressed to them (their chat id is personal), sent or not.
    await db.exec(delete(OutboxMessage).where(col(OutboxMessage.chat_id) == telegram_id))
    if customer is None:
        return held_answers
    now = utcnow()
    owned = col(Order.customer_id) == customer.id
    under_way = owned & col(Order.status).not_in(FINISHED)
    # Notices not yet sent that carry their data or concern their orders never go out; sent
    # ones lose the link to them (the messages themselves are removed by the dispatcher).
    pending = col(OutboxMessage.status) == OutboxStatus.PENDING
    await db.exec(
        delete(OutboxMessage)
        .where(pending)
        .where(
            (col(OutboxMessage.customer_id) == customer.id)
            | col(OutboxMessage.order_id).in_(select(col(Order.id)).where(owned))
        )
    )
    await db.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.customer_id) == customer.id)
        .values(customer_id=None)
    )
    # First the offers (while the orders still say which are under way), then the orders.
    await db.exec(
        update(JobOffer)
        .where(col(JobOffer.order_id).in_(select(col(Order.id)).where(under_way)))
        .where(col(JobOffer.status) == OfferStatus.PENDING)
        .values(status=OfferStatus.EXPIRED, answered_at=now)
    )
    await db.exec(
        update(Order).where(under_way).values(status=OrderStatus.CANCELLED, updated_at=now)
    )
    await db.exec(
        update(Order).where(owned).values(customer_id=None, **dict.fromkeys(PERSONAL_ORDER_FIELDS))
    )
    await db.delete(customer)
    await db.flush()
    return True
