"""Finding customers for an operator: by phone through the blind index, and checking them again.

The operators' /erase finds a customer by the phone number a caller gives; the confirmation
button then carries internal ids and a :func:`check` of the rows, never the number. A booking
finds the area a customer's saved address was booked in (:func:`saved_address_area`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import Table, bindparam, func, select

from conversations.events import Address
from conversations.session import Profile
from storage.crypto import keyring
from storage.database import Tx
from storage.models import Customer, Order

CHECK_LENGTH = 8
#: How many of a customer's latest orders are searched for the one their saved address is from.
RECENT_ORDERS = 10

_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
# Built once: the prepared-statement path keys its plans by the statement object.
_RECENT = (
    select(
        _orders.c.area,
        _orders.c.area_other,
        _orders.c.address,
        _orders.c.latitude,
        _orders.c.longitude,
    )
    .select_from(_orders.join(_customers, _customers.c.id == _orders.c.customer_id))
    .where(_customers.c.channel == bindparam("channel"))
    .where(_customers.c.external_id == bindparam("external_id"))
    .order_by(_orders.c.created_at.desc(), _orders.c.id.desc())
    .limit(RECENT_ORDERS)
)


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


async def saved_address_area(
    tx: Tx, *, person: Address, profile: Profile
) -> tuple[str, str | None] | None:
    """Return the area (slug, typed name) the saved address of ``person`` was booked in.

    The customer row keeps one address and no area: its area is that of the newest order
    with the same address and pin. None when no recent order has it (corrected since, or
    its orders erased by retention): an address whose area is unknown is offered for none.
    """
    if profile.address is None and profile.latitude is None:
        return None
    parameters = {"channel": person.channel, "external_id": person.id}
    saved = (profile.address, profile.latitude, profile.longitude)
    for area, area_other, address, latitude, longitude in await tx.rows(_RECENT, parameters):
        if (address, latitude, longitude) == saved:
            return str(area), area_other
    return None
