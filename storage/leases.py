"""Leases: a job that one worker at a time does (the offers' clock, retention), by name.

A worker :func:`take` s the lease before each run of the job: it gets it when nobody holds it,
when the holder's lease ran out (the holder died or stalled), or when it holds it already (a
renewal). Taking is one statement, atomic on both databases: an insert that, on the name's
conflict, takes the row over only under those conditions, and says whether it did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import Tx
from storage.models import Lease

_leases: Table = Lease.__table__  # type: ignore[attr-defined]


def _take(insert: type[postgresql.Insert] | type[sqlite.Insert]) -> postgresql.Insert:
    statement = insert(_leases).values(
        job=bindparam("job"), holder=bindparam("holder"), until=bindparam("until")
    )
    # On PostgreSQL a concurrent taker waits for the row's lock, then sees the new holder
    # and its lease (the WHERE is checked again): one of them gets it.
    return statement.on_conflict_do_update(  # type: ignore[return-value]
        index_elements=["job"],
        set_={"holder": statement.excluded.holder, "until": statement.excluded.until},
        where=(_leases.c.until < bindparam("now")) | (_leases.c.holder == bindparam("holder")),
    ).returning(_leases.c.job)


_TAKE = {"postgresql": _take(postgresql.Insert), "sqlite": _take(sqlite.Insert)}
_RELEASE = (
    delete(_leases)
    .where(_leases.c.job == bindparam("job"))
    .where(_leases.c.holder == bindparam("holder"))
)


async def take(tx: Tx, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Hold lease ``name`` for ``holder`` until ``now + ttl``; False when another holds it."""
    parameters = {"job": name, "holder": holder, "until": now + ttl, "now": now}
    return bool(await tx.rows(_TAKE[tx.dialect.name], parameters))


async def release(tx: Tx, name: str, holder: str) -> bool:
    """Give up lease ``name`` if ``holder`` holds it (another worker may take it at once)."""
    return bool(await tx.run(_RELEASE, {"job": name, "holder": holder}))
