"""Customers' conversations with the operators ("Talk to a person"): threads and their messages.

A thread is a row (who, their language, open or closed, the references of their open orders
when it began); each of its messages in the operators' chat is a row too, written with the
outbox row that carries it, and the delivery records the message's id there
(:func:`delivered`): an operator's reply to that message finds the thread, and an erasure
finds every copy to delete. What the customer typed is never stored here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, delete, select, update

from conversations.events import Address
from storage import outbox
from storage.database import Tx, Write
from storage.models import (
    Customer,
    HandoffMessage,
    HandoffThread,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
)

_threads: Table = HandoffThread.__table__  # type: ignore[attr-defined]
_messages: Table = HandoffMessage.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]

#: Outbox kinds: a customer's message to the operators, and an answer (or closing) to them.
TO_OPERATORS = "handoff"
TO_CUSTOMER = "handoff_reply"
OPEN = "open"
CLOSED = "closed"
#: The most open orders named to the operators (a customer has at most a few).
MAX_REFERENCES = 5
_FINISHED = (str(OrderStatus.DONE), str(OrderStatus.CANCELLED))


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation between a customer and the operators."""

    id: int
    person: Address
    lang: str
    open: bool
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Copies:
    """A thread's messages in one chat (for erasure to delete)."""

    chat: Address
    message_ids: tuple[str, ...]


_COLUMNS = (
    _threads.c.id,
    _threads.c.channel,
    _threads.c.person_id,
    _threads.c.lang,
    _threads.c.status,
    _threads.c.references,
)


def _thread(row: Sequence[object]) -> Thread:
    thread_id, channel, person_id, lang, status, references = row
    return Thread(
        id=int(str(thread_id)),
        person=Address(str(channel), str(person_id)),
        lang=str(lang),
        open=status == OPEN,
        references=tuple(str(references).split(",")) if references else (),
    )


async def open_of(tx: Tx, *, person: Address) -> Thread | None:
    """Return ``person``'s open thread, if any (the newest, should there be more)."""
    rows = await tx.rows(
        select(*_COLUMNS)
        .where(_threads.c.channel == person.channel)
        .where(_threads.c.person_id == person.id)
        .where(_threads.c.status == OPEN)
        .order_by(_threads.c.id.desc())
        .limit(1)
    )
    return _thread(rows[0]) if rows else None


async def load(tx: Tx, *, thread_id: int) -> Thread | None:
    """Return thread ``thread_id``, if it still exists."""
    rows = await tx.rows(select(*_COLUMNS).where(_threads.c.id == thread_id))
    return _thread(rows[0]) if rows else None


async def by_message(tx: Tx, *, chat: Address, message_id: str) -> Thread | None:
    """Return the thread whose message ``message_id`` in ``chat`` is, if any."""
    rows = await tx.rows(
        select(*_COLUMNS)
        .join(_messages, _messages.c.thread_id == _threads.c.id)
        .where(_messages.c.channel == chat.channel)
        .where(_messages.c.chat_id == chat.id)
        .where(_messages.c.message_id == message_id)
        .limit(1)
    )
    return _thread(rows[0]) if rows else None


async def open_references(tx: Tx, *, person: Address) -> tuple[str, ...]:
    """Return the references of ``person``'s orders still open, newest first."""
    rows = await tx.rows(
        select(_orders.c.reference)
        .join(_customers, _customers.c.id == _orders.c.customer_id)
        .where(_customers.c.channel == person.channel)
        .where(_customers.c.external_id == person.id)
        .where(_orders.c.status.not_in(_FINISHED))
        .order_by(_orders.c.id.desc())
        .limit(MAX_REFERENCES)
    )
    return tuple(str(row[0]) for row in rows)


async def customer_id(tx: Tx, *, person: Address) -> int | None:
    """Return the id of the customer who is ``person`` (None for someone who never booked)."""
    found = await tx.scalar(
        select(_customers.c.id)
        .where(_customers.c.channel == person.channel)
        .where(_customers.c.external_id == person.id)
    )
    return None if found is None else int(found)


async def start(
    tx: Tx, *, person: Address, lang: str, references: Sequence[str], now: datetime
) -> Thread:
    """Open a thread with ``person``; return it."""
    named = tuple(references[:MAX_REFERENCES])
    rows = await tx.rows(
        _threads.insert()
        .values(
            channel=person.channel,
            person_id=person.id,
            lang=lang,
            status=OPEN,
            references=",".join(named) or None,
            created_at=now,
            updated_at=now,
            closed_at=None,
        )
        .returning(_threads.c.id)
    )
    return Thread(int(rows[0][0]), person, lang, True, named)


async def add_message(tx: Tx, *, thread_id: int, chat: Address, outbox_id: int) -> None:
    """Keep that outbox row ``outbox_id`` carries a message of the thread to ``chat``."""
    await tx.run(
        _messages.insert().values(
            thread_id=thread_id,
            outbox_id=outbox_id,
            channel=chat.channel,
            chat_id=chat.id,
            message_id=None,
            copies=None,
        )
    )


async def touch(tx: Tx, *, thread_id: int, now: datetime) -> None:
    """Record activity on a thread."""
    await tx.run(update(_threads).where(_threads.c.id == thread_id).values(updated_at=now))


async def close(tx: Tx, *, thread_id: int, now: datetime) -> bool:
    """Close an open thread; False if it was closed (or gone) already."""
    changed = await tx.run(
        update(_threads)
        .where(_threads.c.id == thread_id)
        .where(_threads.c.status == OPEN)
        .values(status=CLOSED, closed_at=now, updated_at=now)
    )
    return changed > 0


# Parameters not named after columns: an UPDATE's SET would claim those names.
_DELIVERED = (
    update(_messages)
    .where(_messages.c.outbox_id == bindparam("carrier"))
    .values(message_id=bindparam("shown"), copies=bindparam("shown_copies"))
)


def delivered(*, outbox_id: int, message_id: str | None, copies: Sequence[str]) -> list[Write]:
    """The write that keeps where a thread's message (and its copies) went in the chat."""
    values = {
        "carrier": outbox_id,
        "shown": message_id,
        "shown_copies": " ".join(copies) if copies else None,
    }
    return [(_DELIVERED, values)]


async def erase(tx: Tx, *, person: Address) -> tuple[bool, tuple[Copies, ...]]:
    """Delete ``person``'s threads; return whether there were any, and their chat copies.

    Messages still waiting in the outbox never go out; those in chats are returned for the
    caller to take back (a withdrawal in the same transaction).
    """
    mine = (_threads.c.channel == person.channel) & (_threads.c.person_id == person.id)
    ids = [row[0] for row in await tx.rows(select(_threads.c.id).where(mine))]
    if not ids:
        return False, ()
    rows = await tx.rows(
        select(
            _messages.c.outbox_id,
            _messages.c.channel,
            _messages.c.chat_id,
            _messages.c.message_id,
            _messages.c.copies,
        )
        .where(_messages.c.thread_id.in_(ids))
        .order_by(_messages.c.id)
    )
    carriers = [row[0] for row in rows if row[0] is not None]
    if carriers:
        # What a row still being sent already put in the chat (recorded on it as it went).
        rows += await tx.rows(
            select(
                _outbox.c.id,
                _outbox.c.channel,
                _outbox.c.chat_id,
                _outbox.c.message_id,
                _outbox.c.copies,
            ).where(_outbox.c.id.in_(carriers))
        )
        await tx.execute(
            delete(_outbox)
            .where(_outbox.c.id.in_(carriers))
            .where(_outbox.c.status == str(OutboxStatus.PENDING))
        )
    by_chat: dict[Address, list[str]] = {}
    for _, channel, chat_id, message_id, copies in rows:
        found = by_chat.setdefault(Address(channel, chat_id), [])
        for shown in (message_id, *outbox.split_copies(copies)):
            if shown is not None and shown not in found:
                found.append(shown)
    await tx.execute(delete(_messages).where(_messages.c.thread_id.in_(ids)))
    await tx.execute(delete(_threads).where(mine))
    return True, tuple(Copies(chat, tuple(found)) for chat, found in by_chat.items() if found)
