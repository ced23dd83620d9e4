"""Job offers: an order offered to one technician, answered, lapsed, or recorded by hand.

An offer is a row with a due time (``expires_at``): silence past it counts as a decline, and
the core's timers find it again after any restart. Every answer is a conditional update, so
of two taps at once exactly one changes the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update

from conversations.events import Address
from storage import orders
from storage.database import Tx
from storage.models import JobOffer, OfferStatus, OrderStatus, utcnow

_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]
_INSERT_OFFER = _offers.insert().returning(_offers.c.id)


async def offer(
    tx: Tx,
    *,
    order_id: int,
    technician_id: int,
    chat: Address,
    expires_at: datetime | None = None,
) -> int:
    """Record an offer of an order to a technician; return the offer's id.

    The message id is added once the notice is sent; ``expires_at`` is when silence counts
    as a decline.
    """
    now = utcnow()
    await orders.set_status(tx, order_id=order_id, status=OrderStatus.OFFERED, at=now)
    values = {
        "order_id": order_id,
        "technician_id": technician_id,
        "channel": chat.channel,
        "chat_id": chat.id,
        "status": str(OfferStatus.PENDING),
        "created_at": now,
        "expires_at": expires_at,
    }
    offer_id: int = (await tx.rows(_INSERT_OFFER, values))[0][0]
    return offer_id


async def offered_technicians(tx: Tx, *, order_id: int) -> set[int]:
    """Return the ids of technicians already offered ``order_id``."""
    result = await tx.execute(
        select(_offers.c.technician_id).where(_offers.c.order_id == order_id)
    )
    return set(result.scalars().all())


async def set_offer_message(tx: Tx, *, offer_id: int, message_id: str) -> None:
    """Remember which message carried an offer, so it can be edited later."""
    await tx.execute(update(_offers).where(_offers.c.id == offer_id).values(message_id=message_id))


async def expire_offer(tx: Tx, *, offer_id: int) -> bool:
    """Mark a pending offer as lapsed; False when it was already answered or lapsed."""
    result = await tx.execute(
        update(_offers)
        .where(_offers.c.id == offer_id)
        .where(_offers.c.status == OfferStatus.PENDING)
        .values(status=OfferStatus.EXPIRED, answered_at=utcnow())
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class OfferRow:
    """One offer, as the core needs it (``chat`` None: its technician left)."""

    id: int
    order_id: int
    technician_id: int
    chat: Address | None
    message_id: str | None
    status: str


_OFFER_COLUMNS = (
    _offers.c.id,
    _offers.c.order_id,
    _offers.c.technician_id,
    _offers.c.channel,
    _offers.c.chat_id,
    _offers.c.message_id,
    _offers.c.status,
)


def _offer_row(row: Any) -> OfferRow:
    offer_id, order_id, technician_id, channel, chat_id, message_id, status = row
    chat = Address(channel, chat_id) if chat_id is not None else None
    return OfferRow(offer_id, order_id, technician_id, chat, message_id, status)


async def load_offer(tx: Tx, *, offer_id: int) -> OfferRow | None:
    """Return the offer with ``offer_id``."""
    row = (await tx.execute(select(*_OFFER_COLUMNS).where(_offers.c.id == offer_id))).first()
    return _offer_row(row) if row is not None else None


async def lapsed_offers(tx: Tx, *, now: datetime, limit: int = 100) -> list[int]:
    """Return pending offers whose time is up, oldest first."""
    rows = await tx.execute(
        select(_offers.c.id)
        .where(_offers.c.status == OfferStatus.PENDING)
        .where(_offers.c.expires_at <= now)
        .order_by(_offers.c.expires_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def answer(tx: Tx, *, offer_id: int, accept: bool) -> bool:
    """Atomically answer a pending offer; False when it was already answered or has lapsed.

    The conditional UPDATE is the lock: of two taps at once, exactly one changes the row.
    """
    status = OfferStatus.ACCEPTED if accept else OfferStatus.DECLINED
    result = await tx.execute(
        update(_offers)
        .where(_offers.c.id == offer_id)
        .where(_offers.c.status == OfferStatus.PENDING)
        .values(status=status, answered_at=utcnow())
    )
    return bool(result.rowcount)


async def pending_offers(tx: Tx, *, order_id: int) -> list[OfferRow]:
    """Return the order's offers still waiting for an answer."""
    rows = await tx.execute(
        select(*_OFFER_COLUMNS)
        .where(_offers.c.order_id == order_id)
        .where(_offers.c.status == OfferStatus.PENDING)
        .order_by(_offers.c.id)
    )
    return [_offer_row(row) for row in rows]


async def record_assignment(tx: Tx, *, order_id: int, technician_id: int, chat: Address) -> int:
    """Record an operator's assignment as an accepted offer; return its id.

    The offer row is where the job's messages in the technician's chat are remembered (and
    found again to delete them if the customer is erased), and it keeps the technician out of
    the order's next offers, as an accepted offer does.
    """
    now = utcnow()
    statement = (
        _offers.insert()
        .values(
            order_id=order_id,
            technician_id=technician_id,
            channel=chat.channel,
            chat_id=chat.id,
            status=OfferStatus.ACCEPTED,
            created_at=now,
            answered_at=now,
        )
        .returning(_offers.c.id)
    )
    offer_id: int = (await tx.execute(statement)).scalar_one()
    return offer_id
