"""Technicians: added by the CLI or applying themselves, approved, available or away.

Who gets which offer is :mod:`storage.matching`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ScalarSelect,
    Table,
    delete,
    func,
    select,
    update,
)

from conversations.events import Address
from storage.crypto import keyring
from storage.database import Tx
from storage.models import JobOffer, Order, OrderStatus, Technician

_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]


class DuplicateTechnicianError(Exception):
    """A technician with this address (Telegram id, WhatsApp number) is already registered."""


def address(technician: Technician) -> Address | None:
    """Return where ``technician`` is reached (None once they left)."""
    if technician.external_id is None:
        return None
    return Address(technician.channel, technician.external_id)


async def add(
    tx: Tx,
    *,
    person: Address,
    name: str,
    phone: str,
    services: Sequence[str],
    areas: Sequence[str],
    lang: str = "bn",
) -> Technician:
    """Register an approved technician (phone already validated, E.164)."""
    existing = await find(tx, person=person)
    if existing is not None:
        raise DuplicateTechnicianError(str(existing.id))
    values = {
        "channel": person.channel,
        "external_id": person.id,
        "name": name,
        "phone": phone,
        "phone_index": keyring().blind_index(phone),
        "services": ",".join(services),
        "areas": ",".join(areas),
        "lang": lang,
        "active": True,
        "status": APPROVED,
        "available": True,
        "created_at": datetime.now(UTC),
    }
    technician_id: int = (
        await tx.execute(_technicians.insert().returning(_technicians.c.id), values)
    ).scalar_one()
    return Technician.model_validate({**values, "id": technician_id})


class UnknownTechnicianError(Exception):
    """No technician has this id."""


class TechnicianHasHistoryError(Exception):
    """The technician was offered jobs: their row is referenced and must stay."""


async def set_active(tx: Tx, *, technician_id: int, active: bool) -> None:
    """Start or stop offering jobs to a technician (in the caller's transaction)."""
    changed = await tx.run(
        update(_technicians).where(_technicians.c.id == technician_id).values(active=active)
    )
    if not changed:
        raise UnknownTechnicianError(str(technician_id))


async def remove(tx: Tx, *, technician_id: int) -> None:
    """Delete a technician who never had an offer (in the caller's transaction).

    One with a job history stays, referenced by its orders and offers: disable them instead.
    """
    if await load(tx, technician_id=technician_id) is None:
        raise UnknownTechnicianError(str(technician_id))
    offered = await tx.rows(
        select(_offers.c.id).where(_offers.c.technician_id == technician_id).limit(1)
    )
    assigned = await tx.rows(
        select(_orders.c.id).where(_orders.c.technician_id == technician_id).limit(1)
    )
    if offered or assigned:
        raise TechnicianHasHistoryError(str(technician_id))
    await tx.run(delete(_technicians).where(_technicians.c.id == technician_id))


async def list_all(tx: Tx) -> list[Technician]:
    """Return every technician, oldest first."""
    rows = await tx.execute(_technicians.select().order_by(_technicians.c.id))
    return [Technician.model_validate(row._asdict()) for row in rows]


async def find(tx: Tx, *, person: Address) -> Technician | None:
    """Return the technician who is ``person`` (one Core statement)."""
    row = (
        await tx.execute(
            _technicians.select()
            .where(_technicians.c.channel == person.channel)
            .where(_technicians.c.external_id == person.id)
        )
    ).first()
    return Technician.model_validate(row._asdict()) if row is not None else None


async def load(tx: Tx, *, technician_id: int) -> Technician | None:
    """Return the technician with ``technician_id`` (one Core statement)."""
    row = (
        await tx.execute(_technicians.select().where(_technicians.c.id == technician_id))
    ).first()
    return Technician.model_validate(row._asdict()) if row is not None else None


async def able(tx: Tx, *, service: str, area: str, limit: int = 6) -> list[Technician]:
    """Return approved, active technicians who do ``service`` in ``area``, available or not.

    What operators choose from when they assign a job by hand.
    """
    rows = await tx.execute(
        _technicians.select()
        .where(_technicians.c.active.is_(True))
        .where(_technicians.c.status == "approved")
        .where(_technicians.c.services.contains(service))
        .where(_technicians.c.areas.contains(area) | _technicians.c.areas.contains("all"))
        .order_by(_technicians.c.id)
    )
    found = []
    for row in rows:
        technician = Technician.model_validate(row._asdict())
        if technician.offers_service(service) and technician.covers_area(area):
            found.append(technician)
            if len(found) == limit:
                break
    return found


# --- self-registration and availability ----------------------------------------------------

#: Where a technician's application stands (``Technician.status``).
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of an application: stored as pending, or an earlier standing kept."""

    technician_id: int
    status: str
    stored: bool
    available: bool


async def apply(
    tx: Tx,
    *,
    person: Address,
    name: str,
    phone: str,
    services: Sequence[str],
    areas: Sequence[str],
    latitude: float | None,
    longitude: float | None,
    lang: str,
) -> Applied:
    """Store a self-registration as a pending technician (phone already validated, E.164).

    An approved or pending technician is left as they are (``stored`` is False); a rejected
    one applies again on the same row (their address is unique), pending once more.
    """
    values = {
        "name": name,
        "phone": phone,
        "phone_index": keyring().blind_index(phone),
        "services": ",".join(services),
        "areas": ",".join(areas),
        "base_latitude": latitude,
        "base_longitude": longitude,
        "lang": lang,
        "status": PENDING,
        "active": True,
        "available": True,
    }
    existing = await find(tx, person=person)
    if existing is None:
        statement = _technicians.insert().returning(_technicians.c.id)
        row_values = {
            **values,
            "channel": person.channel,
            "external_id": person.id,
            "created_at": datetime.now(UTC),
        }
        technician_id: int = (await tx.execute(statement, row_values)).scalar_one()
        return Applied(technician_id, PENDING, stored=True, available=True)
    if existing.status == REJECTED:
        renewed = await tx.execute(
            _technicians.update()
            .where(_technicians.c.id == existing.id)
            .where(_technicians.c.status == REJECTED)
            .values(**values)
        )
        if renewed.rowcount:
            return Applied(existing.id or 0, PENDING, stored=True, available=True)
    return Applied(existing.id or 0, existing.status, stored=False, available=existing.available)


async def decide(tx: Tx, *, technician_id: int, approve: bool) -> bool:
    """Approve or reject a pending application; False when it is not pending (any more).

    One conditional statement: of two operators pressing at once, exactly one decides.
    """
    result = await tx.execute(
        _technicians.update()
        .where(_technicians.c.id == technician_id)
        .where(_technicians.c.status == PENDING)
        .values(status=APPROVED if approve else REJECTED)
    )
    return bool(result.rowcount)


async def set_available(tx: Tx, *, person: Address, available: bool) -> Technician | None:
    """Switch offers on or off for an approved technician; None when ``person`` is none."""
    result = await tx.execute(
        _technicians.update()
        .where(_technicians.c.channel == person.channel)
        .where(_technicians.c.external_id == person.id)
        .where(_technicians.c.status == APPROVED)
        .values(available=available)
    )
    if not result.rowcount:
        return None
    return await find(tx, person=person)


# --- ratings and the operators' /technicians -----------------------------------------------


def average_rating() -> ScalarSelect[Any]:
    """The technician's average customer rating (None until a job of theirs is rated)."""
    return (
        select(func.avg(_orders.c.rating))
        .where(_orders.c.technician_id == _technicians.c.id)
        .where(_orders.c.rating.is_not(None))
        .scalar_subquery()
    )


@dataclass(frozen=True, slots=True)
class Overview:
    """A technician as the operators' /technicians lists them."""

    id: int
    name: str | None
    phone: str | None
    status: str
    active: bool
    available: bool
    open_jobs: int
    rating: float | None
    ratings: int
    #: Where they are reached (``telegram``, ``whatsapp``).
    channel: str = "telegram"


async def overview(tx: Tx) -> list[Overview]:
    """Return every technician who has not left, oldest first, with open jobs and rating."""
    open_jobs = (
        select(func.count())
        .where(_orders.c.technician_id == _technicians.c.id)
        .where(_orders.c.status.in_([OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY]))
        .scalar_subquery()
    )
    ratings = (
        select(func.count(_orders.c.rating))
        .where(_orders.c.technician_id == _technicians.c.id)
        .scalar_subquery()
    )
    rows = await tx.execute(
        select(
            _technicians.c.id,
            _technicians.c.name,
            _technicians.c.phone,
            _technicians.c.status,
            _technicians.c.active,
            _technicians.c.available,
            open_jobs.label("open_jobs"),
            average_rating().label("rating"),
            ratings.label("ratings"),
            _technicians.c.channel,
        )
        # A technician who left keeps an anonymous row with no address (technician_erasure).
        .where(_technicians.c.external_id.is_not(None))
        .order_by(_technicians.c.id)
    )
    return [
        Overview(
            row.id,
            row.name,
            row.phone,
            row.status,
            bool(row.active),
            bool(row.available),
            int(row.open_jobs or 0),
            None if row.rating is None else float(row.rating),
            int(row.ratings or 0),
            str(row.channel),
        )
        for row in rows
    ]
