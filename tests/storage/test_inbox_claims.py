"""Claims on the inbox: one worker per update, a person's updates in order, leases that end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from conversations.events import Address
from storage import inbox
from storage.database import Database
from storage.inbox import Claim
from storage.models import utcnow

ALICE = Address("whatsapp", "8801711000001")
BOB = Address("whatsapp", "8801711000002")
LEASE = timedelta(seconds=30)


async def stored(db: Database, *people: Address | None) -> list[int]:
    """Store one update per entry of ``people``, in order; return their ids."""
    ids = []
    async with db.transaction() as tx:
        for n, who in enumerate(people):
            row = await inbox.store(
                tx, channel="whatsapp", external_id=f"m{n}", person=who, body={}
            )
            assert row is not None
            ids.append(row.id)
    return ids


async def claim(db: Database, inbox_id: int, worker: str, *, at_offset: float = 0.0) -> Claim:
    async with db.transaction() as tx:
        return await inbox.claim(
            tx,
            inbox_id=inbox_id,
            worker=worker,
            now=utcnow() + timedelta(seconds=at_offset),
            lease=LEASE,
        )


async def holder(db: Database, inbox_id: int) -> tuple[str | None, str]:
    async with db.read() as tx:
        found = await tx.execute(
            text("SELECT claimed_by, state FROM inbox WHERE id = :id"), {"id": inbox_id}
        )
        return tuple(found.one())  # type: ignore[return-value]


async def test_one_worker_at_a_time_holds_an_update(db: Database) -> None:
    (row,) = await stored(db, ALICE)
    assert await claim(db, row, "a") is Claim.TAKEN
    assert await claim(db, row, "b") is Claim.ELSEWHERE
    assert await claim(db, row, "a") is Claim.TAKEN  # already ours: renewed
    assert await holder(db, row) == ("a", "pending")


async def test_a_persons_later_update_waits_until_the_earlier_is_done(db: Database) -> None:
    first, second, other = await stored(db, ALICE, ALICE, BOB)
    # Nobody holds the first yet: the second still waits for it (arrival order).
    assert await claim(db, second, "b") is Claim.BEHIND
    assert not await claim(db, second, "b")
    assert await claim(db, other, "b") is Claim.TAKEN  # someone else's is not held up
    assert await claim(db, first, "a") is Claim.TAKEN
    assert await claim(db, second, "b") is Claim.BEHIND
    await db.write(inbox.finished(first, worker="a") + inbox.answered(first, worker="a"))
    assert await claim(db, second, "b") is Claim.TAKEN


async def test_an_update_without_a_person_has_no_order(db: Database) -> None:
    _, status = await stored(db, None, None)
    assert await claim(db, status, "b") is Claim.TAKEN


async def test_a_lease_that_ran_out_lets_another_worker_take_it(db: Database) -> None:
    (row,) = await stored(db, ALICE)
    assert await claim(db, row, "dead") is Claim.TAKEN
    assert await claim(db, row, "b", at_offset=LEASE.total_seconds() - 1) is Claim.ELSEWHERE
    assert await claim(db, row, "b", at_offset=LEASE.total_seconds() + 1) is Claim.TAKEN
    assert await holder(db, row) == ("b", "pending")


async def test_done_only_for_the_holder(db: Database) -> None:
    (row,) = await stored(db, ALICE)
    assert await claim(db, row, "a") is Claim.TAKEN
    assert await db.write(inbox.finished(row, worker="b")) == [0]
    assert await holder(db, row) == ("a", "pending")
    # a's lease ran out; b took the row over and finished it.
    assert await claim(db, row, "b", at_offset=LEASE.total_seconds() + 1) is Claim.TAKEN
    assert await db.write(inbox.finished(row, worker="b")) == [1]
    # a comes back late: its done mark changes nothing (the attempt is not counted twice).
    assert await db.write(inbox.finished(row, worker="a")) == [0]
    assert await claim(db, row, "a") is Claim.ELSEWHERE
    async with db.read() as tx:
        found = await tx.execute(text("SELECT state, attempts FROM inbox"))
        assert tuple(found.one()) == ("done", 1)


async def test_orphans_are_the_unclaimed_old_and_the_lapsed(db: Database) -> None:
    people = [Address("whatsapp", f"88017110001{n}") for n in range(4)]
    fresh, old, held, lapsed, finished = await stored(db, *people, None)
    now = utcnow()
    async with db.transaction() as tx:
        await tx.execute(
            text("UPDATE inbox SET received_at = :when WHERE id <> :fresh"),
            {"when": now - timedelta(seconds=10), "fresh": fresh},
        )
    assert await claim(db, held, "live") is Claim.TAKEN
    async with db.transaction() as tx:
        await tx.execute(
            text("UPDATE inbox SET claimed_by = 'dead', claimed_until = :when WHERE id = :id"),
            {"when": now - timedelta(seconds=1), "id": lapsed},
        )
        await inbox.done(tx, finished)
    async with db.read() as tx:
        found = await inbox.orphans(tx, now=utcnow(), older_than=timedelta(seconds=5))
        assert [row.id for row in found] == [old, lapsed]
        assert found[0].person == people[1]
        everything = await inbox.orphans(tx, now=utcnow(), older_than=timedelta(0), limit=1)
        assert [row.id for row in everything] == [fresh]


async def test_release_gives_back_only_the_workers_unfinished_claims(db: Database) -> None:
    mine, done, theirs = await stored(db, ALICE, BOB, None)
    for row, worker in ((mine, "a"), (done, "a"), (theirs, "b")):
        assert await claim(db, row, worker) is Claim.TAKEN
    await db.write(inbox.finished(done, worker="a"))
    async with db.transaction() as tx:
        assert await inbox.release(tx, worker="a") == 1
    assert await holder(db, mine) == (None, "pending")
    assert await holder(db, theirs) == ("b", "pending")
    assert await claim(db, mine, "b") is Claim.TAKEN


async def test_the_next_update_waits_until_the_earlier_ones_answer_is_out(db: Database) -> None:
    first, second = await stored(db, ALICE, ALICE)
    assert await claim(db, first, "a") is Claim.TAKEN
    await db.write(inbox.finished(first, worker="a"))
    # Done, its answer still going out: the person's next update is not taken yet.
    assert await claim(db, second, "b") is Claim.BEHIND
    assert await db.write(inbox.answered(first, worker="b")) == [0]  # only by its holder
    assert await db.write(inbox.answered(first, worker="a")) == [1]
    assert await claim(db, second, "b") is Claim.TAKEN
    async with db.read() as tx:
        found = await tx.execute(text("SELECT person_id FROM inbox WHERE id = :id"), {"id": first})
        assert found.scalar_one() is None  # the sender is forgotten once it is through


async def test_a_dead_workers_unsent_answer_holds_the_person_only_for_its_lease(
    db: Database,
) -> None:
    first, second = await stored(db, ALICE, ALICE)
    assert await claim(db, first, "dead") is Claim.TAKEN
    await db.write(inbox.finished(first, worker="dead"))
    assert await claim(db, second, "b") is Claim.BEHIND
    later = LEASE.total_seconds() + 1
    assert await claim(db, second, "b", at_offset=later) is Claim.TAKEN
    async with db.transaction() as tx:
        assert await inbox.forget_lapsed(tx, now=utcnow() + timedelta(seconds=later)) == 1
        found = await tx.execute(text("SELECT person_id FROM inbox WHERE id = :id"), {"id": first})
        assert found.scalar_one() is None
