"""The outbox: notices that matter, committed with the change that causes them, sent later.

A state change (an offer made, a job accepted, an order escalated) and the notices it causes
are written in one transaction; the delivery worker (``service/delivery.py``) sends pending
rows through their channel and records the outcome (:mod:`storage.outbox_outcomes`). A crash
between the two loses nothing: the rows are still pending at restart. A notice is sent twice
only if the process dies after the channel accepted it and before the delivery was recorded
(the answer lost in flight).

Here: adding notices, reading those due, finding where sent ones are (:func:`sent_about`, for
erasure), withdrawing an offer's notice not yet sent, purging settled rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select, update

from conversations.events import Address
from storage.database import Tx
from storage.models import OutboxMessage, OutboxStatus, utcnow

_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]

#: Longest pause between two attempts after network errors.
MAX_BACKOFF = timedelta(minutes=5)
#: An order sent to the operators' chat with its customer's contact (no technician took it).
ESCALATION = "escalation"
#: A technician's application sent to the operators' chat (the applicant's name and phone).
APPLICATION = "application"
#: Messages to take back from a chat (deleted, or redacted where the channel keeps them): the
#: body says which and what stands in their place (``app/withdrawals.py``), not a message.
WITHDRAW = "withdraw"


@dataclass(frozen=True, slots=True)
class Pending:
    """A notice to send."""

    id: int
    chat: Address
    kind: str
    body: dict[str, Any]
    offer_id: int | None
    order_id: int | None
    attempts: int
    customer_id: int | None = None
    technician_id: int | None = None
    #: What earlier attempts left: the parts sent, copies found, attempts of unknown outcome.
    message_id: str | None = None
    location_message_id: str | None = None
    copies: tuple[str, ...] = ()
    unsure: int = 0
    unsure_since: str | None = None


@dataclass(frozen=True, slots=True)
class SentCopy:
    """Where a sent notice that carries someone's data is, for erasure to remove it."""

    order_id: int | None
    chat: Address
    message_id: str
    location_message_id: str | None


# Built once and run with fresh parameters: SQLAlchemy then finds the compiled SQL in its
# cache instead of rebuilding the statement for every notice.
_INSERT = _outbox.insert().returning(_outbox.c.id)
_DUE = (
    select(
        _outbox.c.id,
        _outbox.c.channel,
        _outbox.c.chat_id,
        _outbox.c.kind,
        _outbox.c.body,
        _outbox.c.offer_id,
        _outbox.c.order_id,
        _outbox.c.attempts,
        _outbox.c.customer_id,
        _outbox.c.technician_id,
        _outbox.c.message_id,
        _outbox.c.location_message_id,
        _outbox.c.copies,
        _outbox.c.unsure,
        _outbox.c.unsure_since,
    )
    .where(_outbox.c.status == bindparam("pending"))
    .where(_outbox.c.due_at <= bindparam("now"))
    .order_by(_outbox.c.id)
    .limit(bindparam("limit"))
)
_HELD_BACK = (
    select(_outbox.c.channel, _outbox.c.chat_id, func.min(_outbox.c.id))
    .where(_outbox.c.status == bindparam("pending"))
    .where(_outbox.c.due_at > bindparam("now"))
    .group_by(_outbox.c.channel, _outbox.c.chat_id)
)
_NEXT_DUE = (
    select(_outbox.c.due_at)
    .where(_outbox.c.status == bindparam("pending"))
    .order_by(_outbox.c.due_at)
    .limit(1)
)
_PENDING = str(OutboxStatus.PENDING)


async def enqueue(
    tx: Tx,
    *,
    to: Address,
    kind: str,
    body: dict[str, Any],
    offer_id: int | None = None,
    order_id: int | None = None,
    customer_id: int | None = None,
    technician_id: int | None = None,
) -> int:
    """Add a notice to send (in the caller's transaction); return its id.

    ``customer_id`` or ``technician_id`` names whose personal data the notice carries, so
    erasing them removes it while it is pending.
    """
    now = utcnow()
    values = {
        "channel": to.channel,
        "chat_id": to.id,
        "kind": kind,
        "body": body,
        "offer_id": offer_id,
        "order_id": order_id,
        "customer_id": customer_id,
        "technician_id": technician_id,
        "status": _PENDING,
        "attempts": 0,
        "due_at": now,
        "created_at": now,
        "sent_at": None,
        "message_id": None,
        "location_message_id": None,
        "copies": None,
        "unsure": 0,
        "unsure_since": None,
    }
    outbox_id: int = (await tx.rows(_INSERT, values))[0][0]
    tx.notices += 1
    return outbox_id


async def due(tx: Tx, *, now: datetime, limit: int = 200) -> list[Pending]:
    """Return pending notices that are due, oldest first, none behind one held back."""
    rows = await tx.rows(_DUE, {"pending": _PENDING, "now": now, "limit": limit})
    if not rows:
        return []
    # A chat whose earlier notice waits for a retry gets nothing after it before it goes: a
    # chat's notices arrive in the order they were written. Held-back rows are rare, and the
    # (status, due_at) index finds them without reading the rest.
    held = await tx.rows(_HELD_BACK, {"pending": _PENDING, "now": now})
    first_held = {(channel, chat): first for channel, chat, first in held}
    return [
        pending_of(row) for row in rows if row[0] < first_held.get((row[1], row[2]), row[0] + 1)
    ]


def pending_of(row: Sequence[Any]) -> Pending:
    """A row read with the due notices' columns, as a notice to send."""
    return Pending(
        id=row[0],
        chat=Address(row[1], row[2]),
        kind=row[3],
        body=row[4],
        offer_id=row[5],
        order_id=row[6],
        attempts=row[7],
        customer_id=row[8],
        technician_id=row[9],
        message_id=row[10],
        location_message_id=row[11],
        copies=split_copies(row[12]),
        unsure=row[13] or 0,
        unsure_since=row[14],
    )


def split_copies(copies: str | None) -> tuple[str, ...]:
    """The ids a row's ``copies`` column holds."""
    return tuple(copies.split()) if copies else ()


async def next_due(tx: Tx) -> datetime | None:
    """Return when the earliest pending notice is due (None when nothing is pending)."""
    rows = await tx.rows(_NEXT_DUE, {"pending": _PENDING})
    value: datetime | None = rows[0][0] if rows else None
    return value


async def sent_about(
    tx: Tx,
    *,
    kind: str,
    customer_id: int | None = None,
    technician_id: int | None = None,
) -> list[SentCopy]:
    """Return the notices of ``kind`` in chats that carry this customer's or technician's data.

    Every part in a chat counts: a row still pending (its pin not yet out) or given up after
    its text went out holds ids too, and each copy an attempt of unknown outcome left is one
    more entry. Sent rows keep their ids until they are purged (a week after: past 48 hours
    Telegram lets a message only be redacted anyway).
    """
    statement = (
        select(
            _outbox.c.order_id,
            _outbox.c.channel,
            _outbox.c.chat_id,
            _outbox.c.message_id,
            _outbox.c.location_message_id,
            _outbox.c.copies,
        )
        .where(_outbox.c.kind == kind)
        .where(_outbox.c.message_id.is_not(None))
        .order_by(_outbox.c.id)
    )
    if customer_id is not None:
        statement = statement.where(_outbox.c.customer_id == customer_id)
    if technician_id is not None:
        statement = statement.where(_outbox.c.technician_id == technician_id)
    found: list[SentCopy] = []
    for order_id, channel, chat, message_id, pin, copies in (await tx.execute(statement)).all():
        chat_address = Address(channel, chat)
        found.append(SentCopy(order_id, chat_address, message_id, pin))
        found.extend(SentCopy(order_id, chat_address, copy, None) for copy in split_copies(copies))
    return found


async def cancel_offer_notice(tx: Tx, *, offer_id: int) -> bool:
    """Withdraw an offer's notice that has not gone out yet; True if there was one."""
    result = await tx.execute(
        update(_outbox)
        .where(_outbox.c.offer_id == offer_id)
        .where(_outbox.c.kind == "offer")
        .where(_outbox.c.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED)
    )
    return bool(result.rowcount)


async def purge_finished(tx: Tx, *, before: datetime) -> int:
    """Delete notices that were settled (sent, failed, cancelled) before ``before``.

    A sent row keeps only ids and a chat id, but a chat id is personal: they do not stay.
    """
    result = await tx.execute(
        delete(_outbox)
        .where(_outbox.c.status != OutboxStatus.PENDING)
        .where(_outbox.c.created_at < before)
    )
    return int(result.rowcount)
