"""Finding customers for an operator: by phone through the blind index, and checking them again.

The operators' /erase finds a customer by the phone number a caller gives; the confirmation
button then carries internal ids and a :func:`check` of the rows, never the number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import keyring
from storage.models import Customer, Order

CHECK_LENGTH = 8


async def by_phone(db: AsyncSession, *, phone: str) -> Sequence[Customer]:
    """Return the customers whose saved phone is ``phone`` (E.164), oldest first."""
    # Under every key of the ring: rows a rotation has not reached yet are found too.
    indexes = keyring().blind_indexes(phone)
    result = await db.exec(
        select(Customer).where(col(Customer.phone_index).in_(indexes)).order_by(col(Customer.id))
    )
    return result.all()


async def by_ids(db: AsyncSession, *, customer_ids: Sequence[int]) -> Sequence[Customer]:
    """Return the customers of ``customer_ids`` that still exist, by id."""
    result = await db.exec(
        select(Customer).where(col(Customer.id).in_(list(customer_ids))).order_by(col(Customer.id))
    )
    return result.all()


async def order_count(db: AsyncSession, *, customer_ids: Sequence[int]) -> int:
    """Return how many orders ``customer_ids`` have."""
    result = await db.exec(
        select(func.count())
        .select_from(Order)
        .where(col(Order.customer_id).in_(list(customer_ids)))
    )
    return int(result.one())


def check(rows: Sequence[Customer]) -> str:
    """Return a short fingerprint of the rows' ids and creation times (nothing personal).

    An id freed by an erasure can be given to a new customer; the creation time tells them
    apart, so a late second press never erases someone else.
    """
    stamp = "|".join(f"{row.id}@{row.created_at.isoformat()}" for row in sorted(rows, key=_id))
    return hashlib.sha256(stamp.encode()).hexdigest()[:CHECK_LENGTH]


def _id(row: Customer) -> int:
    return row.id or 0
