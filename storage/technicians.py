"""Technicians: registration, listing and matching an order to one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import keyring
from storage.models import Order, OrderStatus, Technician


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
    db: AsyncSession, *, service: str, area: str, exclude: set[int] | frozenset[int] = frozenset()
) -> Technician | None:
    """Pick an active technician for ``service`` in ``area``: the one with fewest open jobs.

    ``exclude`` holds technicians already offered this order (they declined or were silent).
    """
    open_jobs = (
        select(func.count())
        .where(col(Order.technician_id) == col(Technician.id))
        .where(col(Order.status).in_([OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY]))
        .scalar_subquery()
    )
    candidates = (
        await db.exec(
            select(Technician)
            .where(col(Technician.active).is_(True))
            # A coarse text filter in SQL; the exact slug check below settles it.
            .where(col(Technician.services).contains(service))
            .where(col(Technician.areas).contains(area) | col(Technician.areas).contains("all"))
            .order_by(open_jobs, col(Technician.id))
        )
    ).all()
    for technician in candidates:
        if technician.id in exclude:
            continue
        if technician.offers_service(service) and technician.covers_area(area):
            return technician
    return None
