"""Finding customers for an operator: by phone through the blind index, and checking them again.

The operators' /erase finds a customer by the phone number a caller gives; the confirmation
button then carries internal ids and a :func:`check` of the rows, never the number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import Table, func, select

from storage.crypto import keyring
from storage.database import Tx
from storage.models import Customer, Order

CHECK_LENGTH = 8


_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]


async def by_phone(tx: Tx, *, phone: str) -> list[Customer]:
    """Return the customers whose saved phone is ``phone`` (E.164), oldest first."""
    # Under every key of the ring: rows a rotation has not reached yet are found too.
    indexes = keyring().blind_indexes(phone)
    result = await tx.execute(
        _customers.select().where(_customers.c.phone_index.in_(indexes)).order_by(_customers.c.id)
    )
    return [Customer.model_validate(row._asdict()) for row in result]


async def by_ids(tx: Tx, *, customer_ids: Sequence[int]) -> list[Customer]:
    """Return the customers of ``customer_ids`` that still exist, by id."""
    result = await tx.execute(
        _customers.select()
        .where(_customers.c.id.in_(list(customer_ids)))
        .order_by(_customers.c.id)
    )
    return [Customer.model_validate(row._asdict()) for row in result]


async def order_count(tx: Tx, *, customer_ids: Sequence[int]) -> int:
    """Return how many orders ``customer_ids`` have."""
    result = await tx.execute(
        select(func.count()).where(_orders.c.customer_id.in_(list(customer_ids)))
    )
    return int(result.scalar_one())


def check(rows: Sequence[Customer]) -> str:
    """Return a short fingerprint of the rows' ids and creation times (nothing personal).

    An id freed by an erasure can be given to a new customer; the creation time tells them
    apart, so a late second press never erases someone else.
    """
    stamp = "|".join(f"{row.id}@{row.created_at.isoformat()}" for row in sorted(rows, key=_id))
    return hashlib.sha256(stamp.encode()).hexdigest()[:CHECK_LENGTH]


def _id(row: Customer) -> int:
    return row.id or 0
