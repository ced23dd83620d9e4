"""Erasing a customer: the profile, the personal fields of their orders, their session.

What stays of an order is anonymous: reference, service, area slug, date, status. An order
that was still under way is cancelled, and its offers still waiting for a technician's answer
lapse, so a late Accept can neither revive it nor hand anyone an empty contact.
"""

from __future__ import annotations

from sqlalchemy import Table, delete, select, update
from sqlmodel import SQLModel, col

from conversations.events import Address
from storage import customers
from storage.crypto import _Encrypted
from storage.database import Tx
from storage.models import (
    ConversationSession,
    Customer,
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


_sessions: Table = ConversationSession.__table__  # type: ignore[attr-defined]
_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_customers: Table = Customer.__table__  # type: ignore[attr-defined]


async def erase_customer(tx: Tx, *, person: Address) -> bool:
    """Erase everything personal about ``person`` (in ``tx``); False if nothing was held."""
    customer = await customers.get(tx, person=person)
    own_session = (_sessions.c.channel == person.channel) & (_sessions.c.person_id == person.id)
    session = (
        await tx.execute(select(_sessions.c.flow, _sessions.c.data).where(own_session))
    ).first()
    # A bare session (idle, only a language choice) is erased too, but is not "data held".
    held_answers = session is not None and (session.flow != "idle" or bool(session.data))
    await tx.execute(delete(_sessions).where(own_session))
    # Notices addressed to them (their chat id is personal), sent or not.
    await tx.execute(
        delete(_outbox)
        .where(_outbox.c.channel == person.channel)
        .where(_outbox.c.chat_id == person.id)
    )
    if customer is None:
        return held_answers
    now = utcnow()
    owned = col(Order.customer_id) == customer.id
    under_way = owned & col(Order.status).not_in(FINISHED)
    # Notices not yet sent that carry their data or concern their orders never go out; sent
    # ones lose the link to them (the messages themselves are removed by the core).
    pending = col(OutboxMessage.status) == OutboxStatus.PENDING
    await tx.execute(
        delete(OutboxMessage)
        .where(pending)
        .where(
            (col(OutboxMessage.customer_id) == customer.id)
            | col(OutboxMessage.order_id).in_(select(col(Order.id)).where(owned))
        )
    )
    await tx.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.customer_id) == customer.id)
        .values(customer_id=None)
    )
    # First the offers (while the orders still say which are under way), then the orders.
    await tx.execute(
        update(JobOffer)
        .where(col(JobOffer.order_id).in_(select(col(Order.id)).where(under_way)))
        .where(col(JobOffer.status) == OfferStatus.PENDING)
        .values(status=OfferStatus.EXPIRED, answered_at=now)
    )
    await tx.execute(
        update(Order).where(under_way).values(status=OrderStatus.CANCELLED, updated_at=now)
    )
    await tx.execute(
        update(Order).where(owned).values(customer_id=None, **dict.fromkeys(PERSONAL_ORDER_FIELDS))
    )
    await tx.execute(delete(_customers).where(_customers.c.id == customer.id))
    return True
