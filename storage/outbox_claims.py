"""The outbox shared by several workers: each row claimed by one worker, for a lease.

One process on SQLite reads due rows with :func:`storage.outbox.due` and needs none of this.
Several ``serve`` workers on one database each :func:`claim` a batch instead: the claim names
the worker (``claimed_by``) and lasts until ``claimed_until``; another worker takes a row only
once its claim ran out (its holder died or stalled), and its holder :func:`renew` s the claims
while it is still sending. A person's notices stay in order across workers: a worker claims a
chat's rows only from its earliest pending one on, never past one that another worker holds
or that waits for a retry, and only when no notice reached that chat in the last ``pace``
(one notice a second per chat, whichever worker sent the last one).

Recording an outcome is guarded by the claim (:func:`held`): a worker whose claim passed to
another records nothing, and the row is the new holder's to send and record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.sql import ClauseElement

from conversations.events import Address
from storage import outbox, outbox_outcomes
from storage.database import Tx, Write
from storage.models import OutboxStatus

_outbox: Table = outbox._outbox
_PENDING = str(OutboxStatus.PENDING)


def _free(row: FromClause) -> ColumnElement[bool]:
    """``row`` may be taken now by ``:worker``: due, and unclaimed, or its claim ran out."""
    return and_(
        row.c.status == bindparam("pending"),
        row.c.due_at <= bindparam("now"),
        or_(
            row.c.claimed_by.is_(None),
            row.c.claimed_until < bindparam("now"),
            # Its own claim from a round whose release failed: the worker's rounds never
            # overlap, so nothing of it is in flight.
            row.c.claimed_by == bindparam("worker"),
        ),
    )


def _same_chat(row: FromClause) -> ColumnElement[bool]:
    # ix_outbox_channel_chat_id (channel, chat_id) finds the chat's rows.
    return and_(row.c.channel == _outbox.c.channel, row.c.chat_id == _outbox.c.chat_id)


def _claimable(locking: bool, paced: bool) -> Select[Any]:
    earlier = _outbox.alias("earlier")
    before = _outbox.alias("prev_rows")
    recent = _outbox.alias("recent")
    # The chat's previous pending row: the caller checks that each claimed row's previous
    # one is claimed with it, which the snapshot alone cannot tell (see claim()).
    previous = (
        # "+ 0": PostgreSQL would otherwise find max(id) walking the primary key back from
        # the row, through every other chat's rows (the whole history for a chat's first);
        # this way it reads only the chat's rows, through ix_outbox_channel_chat_id.
        select(func.max(before.c.id + 0))
        .where(_same_chat(before))
        .where(before.c.status == bindparam("pending"))
        .where(before.c.id < _outbox.c.id)
        .scalar_subquery()
    )
    statement = (
        select(*outbox._DUE.selected_columns, previous)
        .where(_free(_outbox))
        # Nothing earlier of the chat waits for a retry or is another live worker's: its
        # notices go in the order they were written.
        .where(
            not_(
                exists()
                .where(_same_chat(earlier))
                .where(earlier.c.status == bindparam("pending"))
                .where(earlier.c.id < _outbox.c.id)
                .where(not_(_free(earlier)))
            )
        )
        .order_by(_outbox.c.id)
        .limit(bindparam("limit"))
    )
    if paced:
        statement = statement.where(
            not_(exists().where(_same_chat(recent)).where(recent.c.sent_at > bindparam("recent")))
        )
    if locking:
        # Rows another worker is claiming right now are skipped, not waited for.
        statement = statement.with_for_update(skip_locked=True, of=_outbox)
    return statement


# Built once per dialect and pacing: SQLite has a single writer, and its claim runs in one
# write transaction, which no other claim can interleave with; PostgreSQL locks what it takes.
_CLAIMABLE = {
    (dialect, paced): _claimable(dialect == "postgresql", paced)
    for dialect in ("sqlite", "postgresql")
    for paced in (False, True)
}
_TAKE = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(claimed_by=bindparam("worker"), claimed_until=bindparam("until"))
)
_RENEW = (
    update(_outbox)
    .where(_outbox.c.claimed_by == bindparam("worker"))
    .where(_outbox.c.status == bindparam("pending"))
    .values(claimed_until=bindparam("until"))
)
_RELEASE = (
    update(_outbox)
    .where(_outbox.c.claimed_by == bindparam("worker"))
    .where(_outbox.c.status == bindparam("pending"))
    .values(claimed_by=None, claimed_until=None)
)


async def claim(
    tx: Tx,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int = 200,
    pace: timedelta = timedelta(0),
) -> list[outbox.Pending]:
    """Claim due notices for ``worker`` until ``now + lease``; return them, oldest first.

    Each chat's rows are taken from its earliest pending one on, in order, and only when
    nothing of the chat reached it after ``now - pace`` (``pace`` 0: no spacing asked).
    """
    statement = _CLAIMABLE[tx.dialect.name, pace > timedelta(0)]
    parameters = {
        "pending": _PENDING,
        "now": now,
        "worker": worker,
        "limit": limit,
        "recent": now - pace,
    }
    found = await tx.rows(statement, parameters)
    # On PostgreSQL a row that a concurrent claim has locked is skipped, while the snapshot
    # still shows it unclaimed: the next row of that chat would look free. So a chat's rows
    # are kept only as an unbroken run from its first pending row (each one's previous
    # pending row is the last one kept): a skipped row ends its chat's run.
    last: dict[Address, int] = {}
    broken: set[Address] = set()
    taken: list[tuple[Any, ...]] = []
    for row in found:
        chat = Address(row[1], row[2])
        if chat in broken:
            continue
        if row[-1] != last.get(chat):
            broken.add(chat)  # nothing more of this chat in this claim
            continue
        last[chat] = row[0]
        taken.append(row)
    if not taken:
        return []
    ids = [row[0] for row in taken]
    await tx.execute(_TAKE, {"ids": ids, "worker": worker, "until": now + lease})
    return [outbox.pending_of(row) for row in taken]


async def renew(tx: Tx, *, worker: str, now: datetime, lease: timedelta) -> int:
    """Extend every claim ``worker`` holds on a pending row to ``now + lease``; how many."""
    return await tx.run(_RENEW, {"worker": worker, "pending": _PENDING, "until": now + lease})


async def release(tx: Tx, *, worker: str) -> int:
    """Give up every claim ``worker`` holds on a pending row (any worker may take it)."""
    return await tx.run(_RELEASE, {"worker": worker, "pending": _PENDING})


def _guarded(statement: Any, *, clear: bool) -> ClauseElement:
    guarded = statement.where(_outbox.c.claimed_by == bindparam("holder"))
    if clear:
        guarded = guarded.values(claimed_by=None, claimed_until=None)
    assert isinstance(guarded, ClauseElement)
    return guarded


# The writes that record an outcome, each only while the worker still holds the row. A sent
# row keeps its claim (who sent it); a retry or a given-up row lets it go: the next attempt
# is any worker's. Progress keeps it: the retry that follows in the same list lets it go.
_HELD = {
    id(outbox_outcomes._MARK_SENT): _guarded(outbox_outcomes._MARK_SENT, clear=False),
    id(outbox_outcomes._PROGRESS): _guarded(outbox_outcomes._PROGRESS, clear=False),
    id(outbox_outcomes._RETRY): _guarded(outbox_outcomes._RETRY, clear=True),
    id(outbox_outcomes._GIVE_UP): _guarded(outbox_outcomes._GIVE_UP, clear=True),
}


def held(writes: Sequence[Write], *, worker: str) -> list[Write]:
    """``writes`` (an outcome, first the row's own) changing the row only if ``worker`` holds it.

    Run them with :func:`record`: when the claim passed to another worker (this one's lease
    ran out), the first write changes no row and nothing else of the list is written.
    """
    statement, parameters = writes[0]
    guarded = _HELD[id(statement)]
    return [(guarded, {**parameters, "holder": worker}), *writes[1:]]


async def record(tx: Tx, writes: Sequence[Write]) -> list[int]:
    """Run ``writes`` in ``tx``; if the first changes no row, the rest are not run ([0])."""
    first = await tx.run(*writes[0])
    if not first:
        return [0]
    return [first, *await tx.run_all(writes[1:])]
