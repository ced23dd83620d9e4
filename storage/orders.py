"""Orders and job offers: store a confirmed booking once, list, offer, accept, decline."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import JobOffer, OfferStatus, Order, OrderStatus, utcnow

#: No 0/O, 1/I/L: references are read out over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 4
_ATTEMPTS_PER_LENGTH = 4


def new_reference(length: int = REFERENCE_LENGTH) -> str:
    """Return a random order reference such as ``MS-7K3Q``."""
    return "MS-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


async def get_by_draft(db: AsyncSession, *, draft_id: str) -> Order | None:
    """Return the order a booking conversation already produced, if any."""
    return (await db.exec(select(Order).where(Order.draft_id == draft_id))).first()


async def create(
    db: AsyncSession,
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
) -> tuple[Order, bool]:
    """Store an order with a fresh unique reference; returns (order, created).

    Confirming the same booking twice (a double tap, a retry after a crash) returns the order
    stored the first time.
    """
    existing = await get_by_draft(db, draft_id=draft_id)
    if existing is not None:
        return existing, False
    length = REFERENCE_LENGTH
    attempt = 0
    while True:
        order = Order(
            reference=new_reference(length),
            draft_id=draft_id,
            customer_id=customer_id,
            lang=lang,
            service=service,
            area=area,
            area_other=area_other,
            address=address,
            latitude=latitude,
            longitude=longitude,
            phone=phone,
            name=name,
            problem=problem,
            visit_date=visit_date,
            visit_part=visit_part,
        )
        try:
            async with db.begin_nested():
                db.add(order)
                await db.flush()
        except IntegrityError:
            # A reference collision: retry, and lengthen once the space gets crowded.
            attempt += 1
            if attempt % _ATTEMPTS_PER_LENGTH == 0:
                length += 1
            continue
        return order, True


async def for_customer(db: AsyncSession, *, customer_id: int, limit: int = 10) -> Sequence[Order]:
    """Return a customer's orders, newest first."""
    result = await db.exec(
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        .limit(limit)
    )
    return result.all()


async def get(db: AsyncSession, *, order_id: int) -> Order | None:
    """Return the order with ``order_id``."""
    return await db.get(Order, order_id)


async def set_status(db: AsyncSession, *, order: Order, status: OrderStatus) -> None:
    """Move an order to ``status``."""
    order.status, order.updated_at = status, utcnow()
    db.add(order)


async def offer(db: AsyncSession, *, order: Order, technician_id: int, chat_id: int) -> JobOffer:
    """Record an offer of ``order`` to a technician (the message id is added once sent)."""
    job_offer = JobOffer(order_id=order.id or 0, technician_id=technician_id, chat_id=chat_id)
    order.status, order.updated_at = OrderStatus.OFFERED, utcnow()
    db.add(order)
    db.add(job_offer)
    await db.flush()
    return job_offer


async def get_offer(db: AsyncSession, *, offer_id: int) -> JobOffer | None:
    """Return the offer with ``offer_id``."""
    return await db.get(JobOffer, offer_id)


async def answer_offer(db: AsyncSession, *, offer_id: int, accept: bool) -> bool:
    """Atomically answer a pending offer; False when it was already answered or has lapsed.

    The conditional UPDATE is the lock: of two taps at once, exactly one changes the row.
    """
    status = OfferStatus.ACCEPTED if accept else OfferStatus.DECLINED
    result = await db.exec(
        update(JobOffer)
        .where(col(JobOffer.id) == offer_id)
        .where(col(JobOffer.status) == OfferStatus.PENDING)
        .values(status=status, answered_at=utcnow())
    )
    return bool(result.rowcount)


async def offered_technicians(db: AsyncSession, *, order_id: int) -> set[int]:
    """Return the ids of technicians already offered ``order_id``."""
    result = await db.exec(select(JobOffer.technician_id).where(JobOffer.order_id == order_id))
    return set(result.all())


async def set_offer_message(db: AsyncSession, *, offer_id: int, message_id: int) -> None:
    """Remember which message carried an offer, so it can be edited later."""
    await db.exec(
        update(JobOffer).where(col(JobOffer.id) == offer_id).values(message_id=message_id)
    )


async def expire_offer(db: AsyncSession, *, offer_id: int) -> None:
    """Mark a pending offer as lapsed."""
    await db.exec(
        update(JobOffer)
        .where(col(JobOffer.id) == offer_id)
        .where(col(JobOffer.status) == OfferStatus.PENDING)
        .values(status=OfferStatus.EXPIRED, answered_at=utcnow())
    )


async def open_for_technician(db: AsyncSession, *, technician_id: int) -> Sequence[Order]:
    """Return the technician's assigned, unfinished orders, soonest visit first."""
    result = await db.exec(
        select(Order)
        .where(Order.technician_id == technician_id)
        .where(col(Order.status).in_([OrderStatus.ASSIGNED, OrderStatus.ON_THE_WAY]))
        .order_by(col(Order.visit_date), col(Order.id))
    )
    return result.all()


async def never_offered(db: AsyncSession) -> Sequence[Order]:
    """Return orders stored but not yet offered to anyone (status new), oldest first."""
    result = await db.exec(
        select(Order).where(Order.status == OrderStatus.NEW).order_by(col(Order.id))
    )
    return result.all()
