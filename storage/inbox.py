"""The inbox: updates received by webhook, stored before they are answered, handled from here.

``serve`` writes every update with its channel's own id (:func:`store`) in a transaction that
commits before the webhook gets its 200; a redelivered id changes nothing. The updates are
then taken in arrival order (:func:`pending`) and each is marked :func:`done` once its effects
are committed, so a crash at any point leaves it to be handled at the next start-up, and a
redelivery after it is not handled again. A handled row keeps only the id and its times (the
body and the sender are cleared) until :func:`purge` removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from conversations.events import Address
from storage.database import Tx, Write
from storage.models import InboxState, InboxUpdate, utcnow

_inbox: Table = InboxUpdate.__table__  # type: ignore[attr-defined]
_PENDING = str(InboxState.PENDING)
_DONE = str(InboxState.DONE)


@dataclass(frozen=True, slots=True)
class Stored:
    """An update waiting to be handled."""

    id: int
    channel: str
    external_id: str
    person: Address | None
    body: dict[str, Any]
    received_at: datetime
    attempts: int


_PENDING_ROWS = (
    select(
        _inbox.c.id,
        _inbox.c.channel,
        _inbox.c.external_id,
        _inbox.c.person_id,
        _inbox.c.body,
        _inbox.c.received_at,
        _inbox.c.attempts,
    )
    .where(_inbox.c.state == bindparam("pending"))
    .where(_inbox.c.id > bindparam("after"))
    .order_by(_inbox.c.id)
    .limit(bindparam("limit"))
)
_DONE_ROW = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .values(
        state=bindparam("done"),
        done_at=bindparam("done_at"),
        attempts=_inbox.c.attempts + 1,
        body=None,
        person_id=None,
    )
)
_TAKEN = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .values(attempts=_inbox.c.attempts + 1)
)
_PURGE = (
    delete(_inbox)
    .where(_inbox.c.state == bindparam("done"))
    .where(_inbox.c.done_at < bindparam("before"))
)


# ON CONFLICT DO NOTHING: a duplicate is no error, and the transaction goes on (a failed
# INSERT would abort a PostgreSQL transaction). Built once per dialect.
_INSERTS = {
    name: insert(_inbox)
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    .returning(_inbox.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


async def store(
    tx: Tx, *, channel: str, external_id: str, person: Address | None, body: dict[str, Any]
) -> Stored | None:
    """Keep an update to handle and return it; None when its id was stored before.

    ``person``: who sent it (their updates are handled in arrival order), when it has one.
    A redelivery (the same channel and id, handled or not) changes nothing.
    """
    now = utcnow()
    values = {
        "channel": channel,
        "external_id": external_id,
        "person_id": person.id if person is not None else None,
        "body": body,
        "received_at": now,
        "state": _PENDING,
        "attempts": 0,
        "done_at": None,
    }
    found = await tx.rows(_INSERTS[tx.dialect.name], values)
    if not found:
        return None
    return Stored(found[0][0], channel, external_id, person, body, now, 0)


async def pending(tx: Tx, *, after: int = 0, limit: int = 500) -> list[Stored]:
    """Return updates not handled yet, in arrival order, from the one after id ``after``."""
    rows = await tx.rows(_PENDING_ROWS, {"pending": _PENDING, "after": after, "limit": limit})
    return [
        Stored(
            id=row[0],
            channel=row[1],
            external_id=row[2],
            person=Address(row[1], row[3]) if row[3] is not None else None,
            body=row[4] or {},
            received_at=row[5],
            attempts=row[6],
        )
        for row in rows
    ]


def taken(inbox_id: int) -> list[Write]:
    """The write that counts an attempt at an update (one that fails every time shows)."""
    return [(_TAKEN, {"inbox_id": inbox_id})]


def finished(inbox_id: int) -> list[Write]:
    """The write that marks an update handled, keeping none of its content."""
    return [(_DONE_ROW, {"inbox_id": inbox_id, "done": _DONE, "done_at": utcnow()})]


async def done(tx: Tx, inbox_id: int) -> None:
    """Mark an update handled, in the caller's unit of work."""
    await tx.run_all(finished(inbox_id))


async def purge(tx: Tx, *, before: datetime) -> int:
    """Delete handled updates done before ``before``; return how many went."""
    return await tx.run(_PURGE, {"done": _DONE, "before": before})
