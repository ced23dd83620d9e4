"""Orders: store a confirmed booking once, list, move through a job's states, rate.

The offers of an order to technicians are :mod:`storage.job_offers`; the operators' list of
open orders is :mod:`storage.order_board`.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from conversations.events import Address
from storage.database import Tx
from storage.models import Customer, JobOffer, OfferStatus, Order, OrderStatus, utcnow

#: No 0/O, 1/I/L: references are read out over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 4
_ATTEMPTS_PER_LENGTH = 4
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]


def new_reference(length: int = REFERENCE_LENGTH) -> str:
    """Return a random order reference such as ``MS-7K3Q``."""
    return "MS-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order as read or written by the Core functions here (no ORM identity to keep)."""

    id: int
    reference: str
    draft_id: str
    customer_id: int | None
    lang: str
    service: str
    area: str
    area_other: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    phone: str | None
    name: str | None
    problem: str | None
    visit_date: date
    visit_part: str
    status: str
    technician_id: int | None
    created_at: datetime
    updated_at: datetime
    rating: int | None = None
    rating_comment: str | None = None
    cancel_reason: str | None = None


@functools.cache
def _place_statement(dialect: str) -> Any:
    # One statement object per dialect, run with fresh parameters (compiled once).
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_orders).on_conflict_do_nothing().returning(_orders.c.id)


_SET_STATUS = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)


async def place(
    tx: Tx,
    *,
    draft_id: str,
    customer_id: int,
    lang: str,
    service: str,
    area: str,
    area_other: str | None,
    address: str | None,
    latitude: float | None,
    longitude: float | None,
    phone: str,
    name: str,
    problem: str | None,
    visit_date: date,
    visit_part: str,
) -> tuple[StoredOrder, bool]:
    """Store an order with a fresh unique reference; returns (order, created).

    One statement in the common case. Confirming the same booking twice (a double tap, a
    retry after a crash) returns the order stored the first time. A reference collision is
    told apart from a repeat by the draft id, and retried (longer once the space is crowded).
    """
    now = utcnow()
    values: dict[str, Any] = {
        "reference": "",
        "draft_id": draft_id,
        "customer_id": customer_id,
        "lang": lang,
        "service": service,
        "area": area,
        "area_other": area_other,
        "address": address,
        "latitude": latitude,
        "longitude": longitude,
        "phone": phone,
        "name": name,
        "problem": problem,
        "visit_date": visit_date,
        "visit_part": visit_part,
        "status": str(OrderStatus.NEW),
        "technician_id": None,
        "created_at": now,
        "updated_at": now,
    }
    statement = _place_statement(tx.dialect.name)
    length, attempt = REFERENCE_LENGTH, 0
    while True:
        values["reference"] = new_reference(length)
        inserted = await tx.rows(statement, values)
        if inserted:
            order_id: int = inserted[0][0]
            return StoredOrder(id=order_id, **values), True
        existing = await get_by_draft(tx, draft_id=draft_id)
        if existing is not None:
            return existing, False
        attempt += 1
        if attempt % _ATTEMPTS_PER_LENGTH == 0:
            length += 1


async def get_by_draft(tx: Tx, *, draft_id: str) -> StoredOrder | None:
    """Return the order a booking conversation already produced, if any."""
    row = (await tx.execute(_orders.select().where(_orders.c.draft_id == draft_id))).first()
    return StoredOrder(**row._asdict()) if row is not None else None


async def open_count(tx: Tx, *, person: Address) -> int:
    """How many open orders the customer who is ``person`` has (0 for someone new)."""
    statement = (
        select(func.count())
        .select_from(_orders.join(_customers, _customers.c.id == _orders.c.customer_id))
        .where(_customers.c.channel == person.channel)
        .where(_customers.c.external_id == person.id)
        .where(_orders.c.status.in_([str(status) for status in OPEN_STATUSES]))
    )
    return int(await tx.scalar(statement) or 0)


async def for_customer(tx: Tx, *, customer_id: int, limit: int | None = 10) -> list[StoredOrder]:
    """Return a customer's orders, newest first (``limit`` None: all of them)."""
    statement = (
        _orders.select()
        .where(_orders.c.customer_id == customer_id)
        .order_by(_orders.c.created_at.desc(), _orders.c.id.desc())
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [StoredOrder(**row._asdict()) for row in await tx.execute(statement)]


async def load(tx: Tx, *, order_id: int) -> StoredOrder | None:
    """Return the order with ``order_id``, read with one Core statement."""
    row = (await tx.execute(_orders.select().where(_orders.c.id == order_id))).first()
    return StoredOrder(**row._asdict()) if row is not None else None


async def set_status(
    tx: Tx, *, order_id: int, status: OrderStatus, at: datetime | None = None
) -> None:
    """Put the order in ``status`` (no condition: the caller decided it)."""
    parameters = {"order_id": order_id, "status": str(status), "updated_at": at or utcnow()}
    await tx.run(_SET_STATUS, parameters)


async def mark_unassigned(tx: Tx, *, order_id: int) -> None:
    """Record that no technician is left to offer the order to."""
    await set_status(tx, order_id=order_id, status=OrderStatus.UNASSIGNED)


async def assign(
    tx: Tx,
    *,
    order_id: int,
    technician_id: int,
    allowed: tuple[OrderStatus, ...] = (OrderStatus.OFFERED,),
) -> bool:
    """Give the order to a technician if it is still in one of ``allowed`` states."""
    result = await tx.execute(
        update(_orders)
        .where(_orders.c.id == order_id)
        .where(_orders.c.status.in_([str(status) for status in allowed]))
        .values(technician_id=technician_id, status=OrderStatus.ASSIGNED, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def stalled(tx: Tx) -> list[int]:
    """Return orders that wait for an offer: stored but never offered, or offered to no one.

    After a crash these are picked up again at start-up.
    """
    pending_offer = (
        select(_offers.c.id)
        .where(_offers.c.order_id == _orders.c.id)
        .where(_offers.c.status == OfferStatus.PENDING)
        .exists()
    )
    rows = await tx.execute(
        select(_orders.c.id)
        .where(
            (_orders.c.status == OrderStatus.NEW)
            | ((_orders.c.status == OrderStatus.OFFERED) & ~pending_offer)
        )
        .order_by(_orders.c.id)
    )
    return list(rows.scalars())


async def open_for_technician(tx: Tx, *, technician_id: int) -> list[StoredOrder]:
    """Return the technician's assigned, unfinished orders, soonest visit first."""
    result = await tx.execute(
        _orders.select()
        .where(_orders.c.technician_id == technician_id)
        .where(_orders.c.status.in_([str(OrderStatus.ASSIGNED), str(OrderStatus.ON_THE_WAY)]))
        .order_by(_orders.c.visit_date, _orders.c.id)
    )
    return [StoredOrder(**row._asdict()) for row in result]


#: Orders not finished yet: a correction of the customer's details reaches these.
OPEN_STATUSES = (
    OrderStatus.NEW,
    OrderStatus.OFFERED,
    OrderStatus.ASSIGNED,
    OrderStatus.UNASSIGNED,
    OrderStatus.ON_THE_WAY,
)
#: Open orders a technician has accepted: they hold the customer's contact.
WITH_TECHNICIAN = (OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY)
#: Order columns a customer's correction may change (the rest is the job, not the person).
CORRECTABLE = frozenset({"name", "phone", "address", "latitude", "longitude"})


@dataclass(frozen=True, slots=True)
class CorrectedOrder:
    """An open order whose personal fields a correction changed."""

    reference: str
    status: str
    technician_id: int | None
    order_id: int


async def correct_open(
    tx: Tx, *, customer_id: int, changes: dict[str, Any]
) -> list[CorrectedOrder]:
    """Apply a customer's corrected details to their open orders; return those orders.

    Finished and cancelled orders keep what was true when they were done.
    """
    unknown = set(changes) - CORRECTABLE
    if unknown:
        raise ValueError(f"not correctable: {sorted(unknown)}")
    statement = (
        update(_orders)
        .where(_orders.c.customer_id == customer_id)
        .where(_orders.c.status.in_([str(status) for status in OPEN_STATUSES]))
        .values(**changes, updated_at=utcnow())
        .returning(_orders.c.reference, _orders.c.status, _orders.c.technician_id, _orders.c.id)
    )
    rows = (await tx.execute(statement)).all()
    return sorted(
        (
            CorrectedOrder(row.reference, str(row.status), row.technician_id, row.id)
            for row in rows
        ),
        key=lambda order: order.reference,
    )


async def all_for_customer(tx: Tx, *, customer_id: int) -> list[StoredOrder]:
    """Return every order of a customer, newest first (for /mydata and its download)."""
    return await for_customer(tx, customer_id=customer_id, limit=None)


# --- the job lifecycle: status changes, cancellations, ratings -----------------------------


async def move_assigned(
    tx: Tx,
    *,
    order_id: int,
    technician_id: int,
    allowed: tuple[OrderStatus, ...],
    status: OrderStatus,
) -> bool:
    """Move the technician's order from one of ``allowed`` states to ``status``.

    Conditional, like :func:`answer`: of two presses at once exactly one changes the row, and
    an order that is no longer theirs (or no longer in that state) is left alone.
    """
    result = await tx.execute(
        update(_orders)
        .where(_orders.c.id == order_id)
        .where(_orders.c.technician_id == technician_id)
        .where(_orders.c.status.in_([str(state) for state in allowed]))
        .values(status=status, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def give_back(tx: Tx, *, order_id: int, technician_id: int, reason: str) -> bool:
    """The assigned technician cannot do the job: it waits for a new offer (status new).

    ``reason`` is kept in ``cancel_reason`` (``technician:<key>``); the caller offers the
    order again in the same transaction.
    """
    result = await tx.execute(
        update(_orders)
        .where(_orders.c.id == order_id)
        .where(_orders.c.technician_id == technician_id)
        .where(_orders.c.status.in_([str(state) for state in WITH_TECHNICIAN]))
        .values(
            status=OrderStatus.NEW, technician_id=None, cancel_reason=reason, updated_at=utcnow()
        )
    )
    return bool(result.rowcount)


async def cancel_by_customer(
    tx: Tx, *, order_id: int, customer_id: int, reason: str = "customer"
) -> bool:
    """Cancel the customer's order if it is still open; False when it is not (any more)."""
    result = await tx.execute(
        update(_orders)
        .where(_orders.c.id == order_id)
        .where(_orders.c.customer_id == customer_id)
        .where(_orders.c.status.in_([str(state) for state in OPEN_STATUSES]))
        .values(status=OrderStatus.CANCELLED, cancel_reason=reason, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def rate(tx: Tx, *, order_id: int, customer_id: int, stars: int) -> bool:
    """Store the customer's 1–5 rating of a done job; False if not theirs, not done or rated."""
    if not 1 <= stars <= 5:
        raise ValueError(f"a rating is 1 to 5, not {stars}")
    result = await tx.execute(
        update(_orders)
        .where(_orders.c.id == order_id)
        .where(_orders.c.customer_id == customer_id)
        .where(_orders.c.status == OrderStatus.DONE)
        .where(_orders.c.rating.is_(None))
        .values(rating=stars)
    )
    return bool(result.rowcount)


async def comment_rating(tx: Tx, *, order_id: int, customer_id: int, comment: str) -> bool:
    """Store the comment of a rating given; False if not theirs, not rated or commented."""
    result = await tx.execute(
        update(_orders)
        .where(_orders.c.id == order_id)
        .where(_orders.c.customer_id == customer_id)
        .where(_orders.c.rating.is_not(None))
        .where(_orders.c.rating_comment.is_(None))
        .values(rating_comment=comment)
    )
    return bool(result.rowcount)
