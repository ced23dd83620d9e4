"""Retention: personal fields of long-finished orders and abandoned bookings are erased.

The privacy promise: the personal fields of an order that finished or was cancelled more than
``MISTRI_RETENTION_DAYS`` ago are erased, leaving the anonymous row (service, area, date,
status); a booking left half-finished is forgotten after 7 days. A daily job calls both
functions here (see :mod:`service.timers`).

Both work in small batches, one transaction each: with SQLite the engine has a single
connection that runs on the event loop, so one long transaction would stall every chat.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, select, tuple_, update
from sqlmodel import col

from conversations.events import Address
from conversations.session import IDLE
from storage.database import Database
from storage.erasure import PERSONAL_ORDER_FIELDS
from storage.models import ConversationSession, Order, OrderStatus
from storage.sessions import SessionStore

log = logging.getLogger(__name__)

#: Statuses after which nothing more happens to an order: its retention clock is running.
TERMINAL_STATUSES = (OrderStatus.DONE, OrderStatus.CANCELLED)
#: How long a half-finished booking is kept after its last answer.
ABANDONED_AFTER = timedelta(days=7)
#: Rows per transaction: small enough that other users of the connection barely wait.
BATCH_SIZE = 500


@dataclass(frozen=True)
class RetentionResult:
    """What a retention pass erased: counts only, never who."""

    orders: int = 0
    sessions: int = 0


def _utc(now: datetime) -> datetime:
    # Times are stored in UTC; a naive `now` would silently shift the window by hours.
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _expired_orders(cutoff: datetime) -> ColumnElement[bool]:
    # Erased rows are unlinked from their customer, so `customer_id IS NOT NULL` skips them
    # through the customer_id index without reading them. Nothing personal is missed: every
    # order holding personal fields is linked (orders.create always sets customer_id, erasure
    # clears it together with the personal fields).
    return and_(
        col(Order.customer_id).is_not(None),
        # `|| ''` keeps SQLite off the status index: nearly every old order is finished, so
        # that index would walk all the anonymised rows every day.
        (col(Order.status) + literal("")).in_(TERMINAL_STATUSES),
        # No separate finishing time is kept: the last status change is the finish.
        col(Order.updated_at) < cutoff,
    )


async def erase_expired(
    db: Database,
    *,
    now: datetime,
    retention_days: int,
    batch_size: int = BATCH_SIZE,
) -> RetentionResult:
    """Erase the personal fields of orders finished more than ``retention_days`` ago."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = _utc(now) - timedelta(days=retention_days)
    predicate = _expired_orders(cutoff)
    # Ordered as the customer_id index is, so the planner walks that index (see above).
    batch = (
        select(col(Order.id))
        .where(predicate)
        .order_by(col(Order.customer_id), col(Order.id))
        .limit(batch_size)
    )
    # Unlinked from the customer too, as erasure does: a row still tied to a person is not
    # anonymous. updated_at is kept: anonymising is not a change to the order itself.
    erase = (
        update(Order)
        .where(col(Order.id).in_(batch.scalar_subquery()))
        # Checked again on the row itself, in case it changed since the subquery read it.
        .where(predicate)
        .values(customer_id=None, **dict.fromkeys(PERSONAL_ORDER_FIELDS))
        .execution_options(synchronize_session=False)
    )
    total = 0
    while True:
        async with db.transaction() as tx:
            erased = (await tx.execute(erase)).rowcount
        total += erased
        if erased < batch_size:
            break
        # Let the chats that waited for the connection have it before the next batch.
        await asyncio.sleep(0)
    log.info("retention: erased the personal fields of %d finished orders", total)
    return RetentionResult(orders=total)


async def erase_abandoned(
    db: Database,
    *,
    now: datetime,
    max_age: timedelta = ABANDONED_AFTER,
    store: SessionStore | None = None,
    batch_size: int = BATCH_SIZE,
) -> RetentionResult:
    """Send conversations untouched for ``max_age`` back to idle, erasing their answers.

    ``store`` is the running bot's session store: its cache is told to forget each erased
    session, so the next message reads the erased row instead of the cached answers.
    """
    cutoff = _utc(now) - max_age
    # Any flow but idle holds answers (today only booking has any); idle rows hold none.
    stale: ColumnElement[bool] = and_(
        col(ConversationSession.flow) != IDLE, col(ConversationSession.updated_at) < cutoff
    )
    pick = (
        select(col(ConversationSession.channel), col(ConversationSession.person_id))
        .where(stale)
        .order_by(col(ConversationSession.channel), col(ConversationSession.person_id))
        .limit(batch_size)
    )
    # The language choice is all that stays: it is not personal, and the person keeps it.
    reset: dict[str, Any] = {"flow": IDLE, "step": "", "data": None, "updated_at": _utc(now)}
    total = 0
    while True:
        async with db.transaction() as tx:
            users = [Address(channel, person) for channel, person in await tx.execute(pick)]
            erased = 0
            if users:
                result = await tx.execute(
                    update(ConversationSession)
                    .where(
                        tuple_(
                            col(ConversationSession.channel), col(ConversationSession.person_id)
                        ).in_([(user.channel, user.id) for user in users])
                    )
                    # Checked again: a save may have landed since the pick (PostgreSQL).
                    .where(stale)
                    .values(**reset)
                    .execution_options(synchronize_session=False)
                )
                erased = result.rowcount
        # After the commit: a message arriving in between finds the cache still in step with
        # what it has said so far; one arriving after reads the erased row.
        if store is not None:
            for person in users:
                store.forget(person)
        total += erased
        if len(users) < batch_size:
            break
        await asyncio.sleep(0)
    log.info("retention: erased %d abandoned conversations", total)
    return RetentionResult(sessions=total)
