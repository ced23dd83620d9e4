"""Delivery statuses a channel reports later (WhatsApp's status webhooks), on the outbox row.

A sent row keeps the id the channel gave its message (``outbox.message_id``, its pin's in
``location_message_id``): a status names that id and the chat it went to, which the
``(channel, chat_id)`` index finds among the few rows of one chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, bindparam, or_, select, update

from storage.database import Tx, Write
from storage.models import OutboxMessage, OutboxStatus

_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SentRow:
    """The outbox row a channel's message id belongs to."""

    id: int
    kind: str
    status: str
    offer_id: int | None


_COLUMNS = (_outbox.c.id, _outbox.c.kind, _outbox.c.status, _outbox.c.offer_id)
_BY_ID = or_(
    _outbox.c.message_id == bindparam("message_id"),
    _outbox.c.location_message_id == bindparam("message_id"),
)
# Built once (outbox.py's reason): in the chat it went to, or by the id alone.
_FIND_IN_CHAT = (
    select(*_COLUMNS)
    .where(_outbox.c.channel == bindparam("channel"))
    .where(_outbox.c.chat_id == bindparam("chat_id"))
    .where(_BY_ID)
    .order_by(_outbox.c.id.desc())
    .limit(1)
)
_FIND = (
    select(*_COLUMNS)
    .where(_outbox.c.channel == bindparam("channel"))
    .where(_BY_ID)
    .order_by(_outbox.c.id.desc())
    .limit(1)
)
_UNREACHABLE = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"))
    # Plain comparisons, not IN: the SQLite fast path runs them (storage/sqlite/prepared.py).
    .where(or_(_outbox.c.status == bindparam("sent"), _outbox.c.status == bindparam("pending")))
    .values(status=bindparam("unreachable"))
)


async def find(tx: Tx, *, channel: str, chat: str | None, message_id: str) -> SentRow | None:
    """Return the row whose message (or pin) went out under ``message_id``, if one is kept.

    ``chat``: the id of the chat it went to, when the status names it.
    """
    parameters = {"channel": channel, "message_id": message_id}
    if chat is not None:
        rows = await tx.rows(_FIND_IN_CHAT, {**parameters, "chat_id": chat})
    else:
        rows = await tx.rows(_FIND, parameters)
    if not rows:
        return None
    row = rows[0]
    return SentRow(int(row[0]), str(row[1]), str(row[2]), row[3])


def unreachable(*, outbox_id: int) -> list[Write]:
    """The write that records a sent row never reached its chat (a failed status)."""
    parameters = {
        "outbox_id": outbox_id,
        "sent": str(OutboxStatus.SENT),
        "pending": str(OutboxStatus.PENDING),
        "unreachable": str(OutboxStatus.UNREACHABLE),
    }
    return [(_UNREACHABLE, parameters)]
