"""Technicians: registration, listing and matching an order to one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ScalarSelect, Table, func
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.ranking import Candidate, rank
from storage.crypto import keyring
from storage.models import JobOffer, Order, OrderStatus, Technician

_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]


class DuplicateTechnicianError(Exception):
    """A technician with this Telegram id is already registered."""


async def add(
    db: AsyncSession,
    *,
    telegram_id: int,
    name: str,
    phone: str,
    services: Sequence[str],
    areas: Sequence[str],
    lang: str = "bn",
) -> Technician:
    """Register an approved technician (phone already validated, E.164)."""
    existing = await get_by_telegram_id(db, telegram_id=telegram_id)
    if existing is not None:
        raise DuplicateTechnicianError(str(existing.id))
    technician = Technician(
        telegram_id=telegram_id,
        name=name,
        phone=phone,
        phone_index=keyring().blind_index(phone),
        services=",".join(services),
        areas=",".join(areas),
        lang=lang,
    )
    db.add(technician)
    await db.flush()
    return technician


class UnknownTechnicianError(Exception):
    """No technician has this id."""


class TechnicianHasHistoryError(Exception):
    """The technician was offered jobs: their row is referenced and must stay."""


async def set_active(db: AsyncSession, *, technician_id: int, active: bool) -> None:
    """Start or stop offering jobs to a technician (not committed)."""
    technician = await db.get(Technician, technician_id)
    if technician is None:
        raise UnknownTechnicianError(str(technician_id))
    technician.active = active
    db.add(technician)


async def remove(db: AsyncSession, *, technician_id: int) -> None:
    """Delete a technician who never had an offer (not committed).

    One with a job history stays, referenced by its orders and offers: disable them instead.
    """
    technician = await db.get(Technician, technician_id)
    if technician is None:
        raise UnknownTechnicianError(str(technician_id))
    offered = await db.exec(
        select(JobOffer.id).where(JobOffer.technician_id == technician_id).limit(1)
    )
    assigned = await db.exec(select(Order.id).where(Order.technician_id == technician_id).limit(1))
    if offered.first() is not None or assigned.first() is not None:
        raise TechnicianHasHistoryError(str(technician_id))
    await db.delete(technician)


async def get(db: AsyncSession, *, technician_id: int) -> Technician | None:
    """Return the technician with ``technician_id``."""
    return await db.get(Technician, technician_id)


async def get_by_telegram_id(db: AsyncSession, *, telegram_id: int) -> Technician | None:
    """Return the technician whose Telegram account is ``telegram_id``."""
    result = await db.exec(select(Technician).where(Technician.telegram_id == telegram_id))
    return result.first()


async def list_all(db: AsyncSession) -> Sequence[Technician]:
    """Return every technician, oldest first."""
    return (await db.exec(select(Technician).order_by(col(Technician.id)))).all()


async def match(
    conn: AsyncConnection,
    *,
    service: str,
    area: str,
    exclude: set[int] | frozenset[int] = frozenset(),
    pin: tuple[float, float] | None = None,
) -> Technician | None:
    """Pick the best active technician for ``service`` in ``area`` (see conversations.ranking).

    ``exclude`` holds technicians already offered this order (they declined or were silent);
    ``pin`` is the order's location, when the customer shared one.
    """
    open_jobs = (
        select(func.count())
        .where(_orders.c.technician_id == _technicians.c.id)
        .where(_orders.c.status.in_([OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY]))
        .scalar_subquery()
    )
    last_offered = (
        select(func.max(_offers.c.created_at))
        .where(_offers.c.technician_id == _technicians.c.id)
        .scalar_subquery()
    )
    rows = await conn.execute(
        _technicians.select()
        .add_columns(open_jobs.label("open_jobs"), last_offered.label("last_offered"))
        .add_columns(_average_rating().label("average_rating"))
        .where(_technicians.c.active.is_(True))
        .where(_technicians.c.available.is_(True))
        .where(_technicians.c.status == "approved")
        # A coarse text filter in SQL; the exact slug check below settles it.
        .where(_technicians.c.services.contains(service))
        .where(_technicians.c.areas.contains(area) | _technicians.c.areas.contains("all"))
    )
    eligible: dict[int, Technician] = {}
    candidates = []
    for row in rows:
        fields = row._asdict()
        loaded, last = fields.pop("open_jobs"), fields.pop("last_offered")
        rating = fields.pop("average_rating")
        technician = Technician.model_validate(fields)
        if row.id in exclude:
            continue
        if not (technician.offers_service(service) and technician.covers_area(area)):
            continue
        eligible[row.id] = technician
        candidates.append(
            Candidate(
                row.id,
                open_jobs=loaded,
                last_offered_at=_aware(last),
                rating=None if rating is None else float(rating),
            )
        )
    ranked = rank(candidates, pin)
    return eligible[ranked[0].technician_id] if ranked else None


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate loses the column type on SQLite, so the time may come back as text.
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def find(conn: AsyncConnection, *, telegram_id: int) -> Technician | None:
    """Return the technician whose Telegram account is ``telegram_id`` (one Core statement)."""
    row = (
        await conn.execute(_technicians.select().where(_technicians.c.telegram_id == telegram_id))
    ).first()
    return Technician.model_validate(row._asdict()) if row is not None else None


async def load(conn: AsyncConnection, *, technician_id: int) -> Technician | None:
    """Return the technician with ``technician_id`` (one Core statement)."""
    row = (
        await conn.execute(_technicians.select().where(_technicians.c.id == technician_id))
    ).first()
    return Technician.model_validate(row._asdict()) if row is not None else None


async def able(
    conn: AsyncConnection, *, service: str, area: str, limit: int = 6
) -> list[Technician]:
    """Return approved, active technicians who do ``service`` in ``area``, available or not.

    What operators choose from when they assign a job by hand.
    """
    rows = await conn.execute(
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
    conn: AsyncConnection,
    *,
    telegram_id: int,
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
    one applies again on the same row (the Telegram id is unique), pending once more.
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
    existing = await find(conn, telegram_id=telegram_id)
    if existing is None:
        statement = _technicians.insert().returning(_technicians.c.id)
        row_values = {**values, "telegram_id": telegram_id, "created_at": datetime.now(UTC)}
        technician_id: int = (await conn.execute(statement, row_values)).scalar_one()
        return Applied(technician_id, PENDING, stored=True, available=True)
    if existing.status == REJECTED:
        renewed = await conn.execute(
            _technicians.update()
            .where(_technicians.c.id == existing.id)
            .where(_technicians.c.status == REJECTED)
            .values(**values)
        )
        if renewed.rowcount:
            return Applied(existing.id or 0, PENDING, stored=True, available=True)
    return Applied(existing.id or 0, existing.status, stored=False, available=existing.available)


async def decide(conn: AsyncConnection, *, technician_id: int, approve: bool) -> bool:
    """Approve or reject a pending application; False when it is not pending (any more).

    One conditional statement: of two operators pressing at once, exactly one decides.
    """
    result = await conn.execute(
        _technicians.update()
        .where(_technicians.c.id == technician_id)
        .where(_technicians.c.status == PENDING)
        .values(status=APPROVED if approve else REJECTED)
    )
    return bool(result.rowcount)


async def set_available(
    conn: AsyncConnection, *, telegram_id: int, available: bool
) -> Technician | None:
    """Switch offers on or off for an approved technician; None when ``telegram_id`` is none."""
    result = await conn.execute(
        _technicians.update()
        .where(_technicians.c.telegram_id == telegram_id)
        .where(_technicians.c.status == APPROVED)
        .values(available=available)
    )
    if not result.rowcount:
        return None
    return await find(conn, telegram_id=telegram_id)


# --- ratings and the operators' /technicians -----------------------------------------------


def _average_rating() -> ScalarSelect[Any]:
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


async def overview(conn: AsyncConnection) -> list[Overview]:
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
    rows = await conn.execute(
        core_select(
            _technicians.c.id,
            _technicians.c.name,
            _technicians.c.phone,
            _technicians.c.status,
            _technicians.c.active,
            _technicians.c.available,
            open_jobs.label("open_jobs"),
            _average_rating().label("rating"),
            ratings.label("ratings"),
        )
        # A technician who left keeps an anonymous row with no chat (technician_erasure).
        .where(_technicians.c.telegram_id > 0)
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
        )
        for row in rows
    ]
