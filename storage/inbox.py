"""The inbox: updates received by webhook, stored before they are answered, handled from here.

``serve`` writes every update with its channel's own id (:func:`store`) in a transaction that
commits before the webhook gets its 200; a redelivered id changes nothing. The updates are
then taken in arrival order (:func:`pending`) and each is marked :func:`done` once its effects
are committed, so a crash at any point leaves it to be handled at the next start-up, and a
redelivery after it is not handled again. A handled row keeps only the id and its times (the
body and the sender are cleared) until :func:`purge` removes it.

Several ``serve`` workers on one database share the inbox through claims: a worker
claims a row (:func:`claim`) before handling it, for a lease, and only once the same person's
earlier rows are done (so a person's updates are handled in arrival order whichever worker
received them); rows nobody claimed in time, or whose lease ran out (their worker died), are
:func:`orphans` any worker takes; and :func:`finished` with a ``worker`` marks a row done only
for the worker that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, or_, select, update
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
# Marked done only by the worker that holds the row (see :func:`finished`). The sender and
# the claim stay until its answer is out (:func:`answered`): the person's next update waits.
_DONE_HELD = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .where(_inbox.c.claimed_by == bindparam("worker"))
    .where(_inbox.c.state == bindparam("pending"))
    .values(
        state=bindparam("done"),
        done_at=bindparam("done_at"),
        attempts=_inbox.c.attempts + 1,
        body=None,
    )
)
_ANSWERED = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .where(_inbox.c.claimed_by == bindparam("worker"))
    .where(_inbox.c.state == bindparam("done"))
    .values(claimed_until=None, person_id=None)
)
# Done rows whose worker died before their answer was out: the sender is not kept for long.
_LAPSED_ANSWERS = (
    update(_inbox)
    .where(_inbox.c.state == bindparam("done"))
    .where(_inbox.c.claimed_until < bindparam("now"))
    .values(claimed_until=None, person_id=None)
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


_earlier = _inbox.alias("earlier")
#: An update of the same person that came before and is not through: pending, or done with
#: its answer still going out (its claim still running). NULL people have no order.
_EARLIER_PENDING = exists().where(
    _earlier.c.channel == _inbox.c.channel,
    _earlier.c.person_id == _inbox.c.person_id,
    _earlier.c.id < _inbox.c.id,
    or_(_earlier.c.state == bindparam("pending"), _earlier.c.claimed_until >= bindparam("now")),
)
_FREE = or_(
    _inbox.c.claimed_by.is_(None),
    _inbox.c.claimed_until < bindparam("now"),
    _inbox.c.claimed_by == bindparam("worker"),
)
# One statement, atomic on both databases: on PostgreSQL a second worker's UPDATE of the same
# row waits for the first to commit, then checks the row as the first left it (claimed: no
# match); SQLite has one writer at a time.
_CLAIM = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .where(_inbox.c.state == bindparam("pending"))
    .where(_FREE)
    .where(~_EARLIER_PENDING)
    .values(claimed_by=bindparam("worker"), claimed_until=bindparam("until"))
    .returning(_inbox.c.id)
)
#: Why a claim failed: whether the row is still free for the worker.
_WHY_NOT = (
    select(_FREE)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .where(_inbox.c.state == bindparam("pending"))
)
_ORPHANS = (
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
    .where(
        or_(
            and_(_inbox.c.claimed_by.is_(None), _inbox.c.received_at < bindparam("before")),
            _inbox.c.claimed_until < bindparam("now"),
        )
    )
    .order_by(_inbox.c.id)
    .limit(bindparam("limit"))
)
_RELEASE = (
    update(_inbox)
    .where(_inbox.c.claimed_by == bindparam("worker"))
    .where(_inbox.c.state == bindparam("pending"))
    .values(claimed_by=None, claimed_until=None)
)
_RELEASE_ANSWERS = (
    update(_inbox)
    .where(_inbox.c.claimed_by == bindparam("worker"))
    .where(_inbox.c.state == bindparam("done"))
    .where(_inbox.c.claimed_until.is_not(None))
    .values(claimed_until=None, person_id=None)
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
    return _stored(rows)


def _stored(rows: list[tuple[Any, ...]]) -> list[Stored]:
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


def finished(inbox_id: int, *, worker: str | None = None) -> list[Write]:
    """The write that marks an update handled, keeping none of its content.

    ``worker``: only if that worker holds the row (several workers; None: one process).
    A worker whose lease ran out while it was still handling the row (it was slow, or paused)
    changes nothing here: another worker has claimed it since, handles it again and marks it
    done itself. The slow worker's effects (its session save, its actions, its answer) are
    not undone, so across a lease's end an update is handled at least once, not exactly once:
    the lease must be longer than any handling (``service/intake.py``: :data:`LEASE`).
    With a ``worker``, the row keeps its sender and its claim until :func:`answered`: the
    person's next update is claimed only once this one's answer is out, so their answers
    come in order too, whichever workers handle them.
    """
    values = {"inbox_id": inbox_id, "done": _DONE, "done_at": utcnow()}
    if worker is None:
        return [(_DONE_ROW, values)]
    return [(_DONE_HELD, {**values, "worker": worker, "pending": _PENDING})]


def answered(inbox_id: int, *, worker: str) -> list[Write]:
    """The write that says a done update's answer is out: the person's next may be claimed.

    It forgets the sender. A worker that dies before it leaves the row to its lease.
    """
    return [(_ANSWERED, {"inbox_id": inbox_id, "worker": worker, "done": _DONE})]


async def done(tx: Tx, inbox_id: int) -> None:
    """Mark an update handled, in the caller's unit of work."""
    await tx.run_all(finished(inbox_id))


class Claim(Enum):
    """What a claim found."""

    #: The row is the worker's until the lease ends.
    TAKEN = "taken"
    #: An earlier update of the same person is still pending: try again shortly.
    BEHIND = "behind"
    #: Done, or another worker holds it (a live lease): nothing to do here.
    ELSEWHERE = "elsewhere"

    def __bool__(self) -> bool:
        """True only when the row was taken (``if await claim(...)``)."""
        return self is Claim.TAKEN


async def claim(tx: Tx, *, inbox_id: int, worker: str, now: datetime, lease: timedelta) -> Claim:
    """Claim a pending update for ``worker`` until ``now + lease``; say what was found.

    Taken only when nobody holds it (or the holder's lease ran out, or it is ``worker``'s
    already) and no earlier update of the same person is pending: a person's updates are
    handled one after the other, in arrival order, whichever worker received them.
    """
    parameters = {
        "inbox_id": inbox_id,
        "worker": worker,
        "now": now,
        "until": now + lease,
        "pending": _PENDING,
    }
    if await tx.rows(_CLAIM, parameters):
        return Claim.TAKEN
    # Why not (only on a miss): read after the fact, so a race here only costs a retry.
    found = await tx.rows(_WHY_NOT, parameters)
    if not found:  # done
        return Claim.ELSEWHERE
    # Free for the worker: an earlier update was pending (or was, and was done since).
    return Claim.BEHIND if found[0][0] else Claim.ELSEWHERE


async def orphans(
    tx: Tx, *, now: datetime, older_than: timedelta, after: int = 0, limit: int = 500
) -> list[Stored]:
    """Pending updates no live worker holds, in arrival order.

    Those nobody claimed within ``older_than`` of their arrival (the worker that stored
    them died before it got to them) and those whose lease ran out (it died handling them);
    from the one after id ``after``.
    """
    rows = await tx.rows(
        _ORPHANS,
        {
            "pending": _PENDING,
            "before": now - older_than,
            "now": now,
            "after": after,
            "limit": limit,
        },
    )
    return _stored(rows)


async def release(tx: Tx, *, worker: str) -> int:
    """Give up ``worker``'s claims on updates it did not finish (it stops); return how many.

    Its done updates whose answers it did not see out stop holding their people up too.
    """
    await tx.run(_RELEASE_ANSWERS, {"worker": worker, "done": _DONE})
    return await tx.run(_RELEASE, {"worker": worker, "pending": _PENDING})


async def forget_lapsed(tx: Tx, *, now: datetime) -> int:
    """Forget the senders of done updates whose worker died before their answer was out."""
    return await tx.run(_LAPSED_ANSWERS, {"done": _DONE, "now": now})


async def purge(tx: Tx, *, before: datetime) -> int:
    """Delete handled updates done before ``before``; return how many went."""
    return await tx.run(_PURGE, {"done": _DONE, "before": before})
