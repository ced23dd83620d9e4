"""Chats that moved to a new address (Telegram: a group upgraded to a supergroup).

The move is kept in ``meta`` (``moved:<channel>:<old id>`` → the new id), so a restart
follows it before the first update, and the pending notices of the old chat are sent to the
new one. A group's id is not personal data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, insert, select, update

from conversations.events import Address
from storage import outbox
from storage.database import Tx
from storage.models import Meta, OutboxMessage, OutboxStatus

_meta: Table = Meta.__table__  # type: ignore[attr-defined]
_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_PREFIX = "moved:"


def _key(old: Address) -> str:
    return f"{_PREFIX}{old.channel}:{old.id}"


async def record(tx: Tx, *, old: Address, new: Address) -> tuple[int, int]:
    """Keep that ``old`` moved to ``new``, and send what waits for it there.

    Returns how many pending notices now go to ``new``, and how many withdrawals were given
    up (see :func:`readdress`).
    """
    key = _key(old)
    await tx.execute(delete(_meta).where(_meta.c.key == key))
    await tx.execute(insert(_meta).values(key=key, value=new.id.encode()))
    # A chat that had moved to ``old`` before now lives at ``new`` too.
    await tx.execute(
        update(_meta)
        .where(_meta.c.key.like(f"{_PREFIX}{old.channel}:%"))
        .where(_meta.c.value == old.id.encode())
        .values(value=new.id.encode())
    )
    return await readdress(tx, old=old, new=new)


async def moves(tx: Tx) -> dict[Address, Address]:
    """Return every chat that moved, and where it lives now."""
    rows = await tx.execute(
        select(_meta.c.key, _meta.c.value).where(_meta.c.key.like(f"{_PREFIX}%"))
    )
    found: dict[Address, Address] = {}
    for key, value in rows.all():
        channel, _, old_id = key.removeprefix(_PREFIX).partition(":")
        found[Address(channel, old_id)] = Address(channel, bytes(value).decode())
    return found


async def readdress(tx: Tx, *, old: Address, new: Address) -> tuple[int, int]:
    """Send what waits for ``old`` to ``new``; return (notices moved, withdrawals given up).

    A notice goes as a new message (an edit named a message of the old chat, whose ids mean
    other messages in the new one). A withdrawal cannot follow: the messages it names stay
    in the old chat's history, where the bot can no longer reach them; it is given up.
    """
    pending = (
        (_outbox.c.channel == old.channel)
        & (_outbox.c.chat_id == old.id)
        & (_outbox.c.status == str(OutboxStatus.PENDING))
    )
    dropped = await tx.execute(
        update(_outbox)
        .where(pending & (_outbox.c.kind == outbox.WITHDRAW))
        .values(status=str(OutboxStatus.FAILED))
    )
    rows = (await tx.execute(select(_outbox.c.id, _outbox.c.body).where(pending))).all()
    for row_id, body in rows:
        # What went out to the old chat stays there: in the new one it is all still to send.
        values: dict[str, Any] = {
            "channel": new.channel,
            "chat_id": new.id,
            "message_id": None,
            "location_message_id": None,
            "copies": None,
            "unsure": 0,
        }
        if body is not None and ("replaces" in body or "edit_message_id" in body):
            values["body"] = {
                k: v for k, v in body.items() if k not in ("replaces", "edit_message_id")
            }
        await tx.execute(update(_outbox).where(_outbox.c.id == row_id).values(**values))
    return len(rows), int(dropped.rowcount)
