"""Plain views of stored things that flows render: no database types cross into flows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as the flows see it."""

    order_id: int
    reference: str
    lang: str
    service: str
    area: str
    area_other: str | None
    problem: str | None
    visit_date: date
    visit_part: str
    status: str
    created_at: datetime
    name: str | None = None
    phone: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class TechnicianView:
    """A technician as the flows see it."""

    technician_id: int
    name: str
    phone: str
    lang: str
