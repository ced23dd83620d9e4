"""The operators' /orders: the open orders with their technician, and counts by state.

Read only, and without the customer: the rows carry the job and who does it, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Table, func, select

from storage.database import Tx
from storage.models import Order, Technician
from storage.orders import OPEN_STATUSES

_orders: Table = Order.__table__  # type: ignore[attr-defined]
_technicians: Table = Technician.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class OpenOrderRow:
    """An open order for the operators' /orders: the job and its technician, no customer."""

    reference: str
    service: str
    area: str
    visit_date: date
    visit_part: str
    status: str
    created_at: datetime
    technician_id: int | None
    technician_name: str | None


async def open_orders(tx: Tx, *, limit: int = 300) -> list[OpenOrderRow]:
    """Return up to ``limit`` open orders, oldest first, with their technician's name."""
    rows = await tx.execute(
        select(
            _orders.c.reference,
            _orders.c.service,
            _orders.c.area,
            _orders.c.visit_date,
            _orders.c.visit_part,
            _orders.c.status,
            _orders.c.created_at,
            _orders.c.technician_id,
            _technicians.c.name,
        )
        .select_from(_orders)
        .outerjoin(_technicians, _technicians.c.id == _orders.c.technician_id)
        .where(_orders.c.status.in_([str(state) for state in OPEN_STATUSES]))
        .order_by(_orders.c.created_at, _orders.c.id)
        .limit(limit)
    )
    return [
        OpenOrderRow(
            row.reference,
            row.service,
            row.area,
            row.visit_date,
            row.visit_part,
            str(row.status),
            _aware(row.created_at),
            row.technician_id,
            row.name,
        )
        for row in rows
    ]


async def open_counts(tx: Tx) -> dict[str, int]:
    """Return how many orders are open in each state."""
    rows = await tx.execute(
        select(_orders.c.status, func.count())
        .where(_orders.c.status.in_([str(state) for state in OPEN_STATUSES]))
        .group_by(_orders.c.status)
    )
    return {str(status): int(count) for status, count in rows}


def _aware(value: datetime) -> datetime:
    # SQLite gives back naive UTC times.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
