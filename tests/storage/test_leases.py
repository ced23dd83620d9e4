"""Leases: one holder at a time, taken over once they run out, renewed by their holder."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from storage import leases
from storage.database import Database
from storage.models import utcnow

TTL = timedelta(seconds=15)


async def take(db: Database, holder: str, now: datetime, name: str = "offers") -> bool:
    async with db.transaction() as tx:
        return await leases.take(tx, name, holder, now, TTL)


async def test_one_holder_at_a_time_until_the_lease_runs_out(db: Database) -> None:
    now = utcnow()
    assert await take(db, "a", now)
    assert not await take(db, "b", now + timedelta(seconds=5))
    assert await take(db, "b", now, name="retention")  # another job, another lease
    # a stopped renewing: once its lease ran out, b takes it, and a no longer has it.
    assert await take(db, "b", now + TTL + timedelta(seconds=1))
    assert not await take(db, "a", now + TTL + timedelta(seconds=2))


async def test_the_holder_renews_its_lease(db: Database) -> None:
    now = utcnow()
    assert await take(db, "a", now)
    assert await take(db, "a", now + timedelta(seconds=10))  # renewed to now + 25 s
    # Past the first lease, within the renewed one: still a's.
    assert not await take(db, "b", now + TTL + timedelta(seconds=1))


async def test_release_lets_another_take_it_at_once(db: Database) -> None:
    now = utcnow()
    assert await take(db, "a", now)
    async with db.transaction() as tx:
        assert not await leases.release(tx, "offers", "b")  # not b's to give up
        assert await leases.release(tx, "offers", "a")
    assert await take(db, "b", now)


async def test_workers_taking_at_once_get_one_holder(db: Database) -> None:
    now = utcnow()
    # A lease nobody holds, then the same lease run out: each time exactly one gets it.
    for at in (now, now + TTL + timedelta(seconds=1)):
        taken = await asyncio.gather(*(take(db, f"w{n}", at) for n in range(4)))
        assert sum(taken) == 1
