"""Stored rows as the flows see them: plain views, with personal fields only where meant."""

from __future__ import annotations

from conversations import datarights
from conversations.views import OrderView, TechnicianView
from storage.models import Technician
from storage.orders import StoredOrder


def order_view(order: StoredOrder, *, contact: bool) -> OrderView:
    """Return a flow's view of ``order``; its personal fields only when ``contact`` is meant."""
    return OrderView(
        order_id=order.id,
        reference=order.reference,
        lang=order.lang,
        service=order.service,
        area=order.area,
        area_other=order.area_other,
        problem=order.problem,
        visit_date=order.visit_date,
        visit_part=order.visit_part,
        status=str(order.status),
        created_at=order.created_at,
        name=order.name if contact else None,
        phone=order.phone if contact else None,
        address=order.address if contact else None,
        latitude=order.latitude if contact else None,
        longitude=order.longitude if contact else None,
    )


def technician_view(technician: Technician) -> TechnicianView:
    """Return a technician as a customer is told of them (name and phone)."""
    return TechnicianView(
        technician_id=technician.id or 0,
        name=technician.name or "",
        phone=technician.phone or "",
        lang=technician.lang,
    )


def technician_record(technician: Technician) -> datarights.TechnicianRecord:
    """Return a technician's own record, in plain values, for /mydata."""
    return datarights.TechnicianRecord(
        name=technician.name,
        phone=technician.phone,
        services=slugs(technician.services),
        areas=slugs(technician.areas),
        active=technician.active,
        lang=technician.lang,
        registered_at=technician.created_at,
    )


def slugs(listed: str) -> tuple[str, ...]:
    """Return the slugs of a comma-separated list."""
    return tuple(slug for slug in listed.split(",") if slug)
