"""Answers that could not go out at once: outbox rows of kind ``reply``, sent in order.

A direct answer that the channel asks us to hold back (Telegram's 429 after the rate
limiter's own retries, or a network failure) is never dropped: it and everything after it in
the same answer become outbox rows, the first due when the channel said, and the chat's later
answers follow them through the outbox until they are out (``app/handle.py``).
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, select

from conversations.events import Address
from storage.database import Tx
from storage.models import OutboxMessage, OutboxStatus

#: The outbox kind of an answer that went the long way.
REPLY = "reply"

_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]

_WAITING_IN = (
    select(_outbox.c.id)
    .where(_outbox.c.status == bindparam("pending"))
    .where(_outbox.c.kind == REPLY)
    .where(_outbox.c.channel == bindparam("channel"))
    .where(_outbox.c.chat_id == bindparam("chat_id"))
    .limit(1)
)
_CHATS_WAITING = (
    select(_outbox.c.channel, _outbox.c.chat_id)
    .where(_outbox.c.status == bindparam("pending"))
    .where(_outbox.c.kind == REPLY)
    .distinct()
)


async def waiting(tx: Tx, chat: Address) -> bool:
    """Tell whether an answer to ``chat`` still waits in the outbox."""
    params = {"pending": str(OutboxStatus.PENDING), "channel": chat.channel, "chat_id": chat.id}
    return bool(await tx.rows(_WAITING_IN, params))


async def chats_waiting(tx: Tx) -> set[Address]:
    """Every chat with an answer waiting in the outbox (read at start-up)."""
    rows = await tx.rows(_CHATS_WAITING, {"pending": str(OutboxStatus.PENDING)})
    return {Address(channel, chat_id) for channel, chat_id in rows}
