"""The outbox claimed by several workers: one holder a row, each chat in order, paced."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from conversations.events import Address
from storage import outbox, outbox_claims, outbox_outcomes
from storage.database import Database
from storage.models import OutboxMessage, OutboxStatus, utcnow

X = Address("telegram", "101")
Y = Address("telegram", "102")
LEASE = timedelta(seconds=60)


async def fill(db: Database, chats: list[Address]) -> list[int]:
    """One pending notice per entry of ``chats``, in that order; their ids."""
    ids = []
    async with db.transaction() as tx:
        for n, chat in enumerate(chats):
            ids.append(await outbox.enqueue(tx, to=chat, kind="status", body={"n": n}))
    return ids


async def claim(
    db: Database, worker: str, *, now: datetime | None = None, limit: int = 200, pace: float = 0
) -> list[int]:
    async with db.transaction() as tx:
        rows = await outbox_claims.claim(
            tx,
            worker=worker,
            now=now or utcnow(),
            lease=LEASE,
            limit=limit,
            pace=timedelta(seconds=pace),
        )
    return [row.id for row in rows]


async def record(db: Database, worker: str, writes: list[tuple[object, object]]) -> list[int]:
    async with db.transaction() as tx:
        return await outbox_claims.record(tx, outbox_claims.held(writes, worker=worker))  # type: ignore[arg-type]


def sent(outbox_id: int) -> list[tuple[object, object]]:
    return outbox_outcomes.sent(outbox_id=outbox_id, message_id=f"m{outbox_id}")  # type: ignore[return-value]


async def holders(db: Database) -> dict[int, tuple[str | None, str]]:
    async with db.read() as tx:
        found = await tx.rows(
            select(OutboxMessage.id, OutboxMessage.claimed_by, OutboxMessage.status)  # type: ignore[call-overload]
        )
    return {row[0]: (row[1], row[2]) for row in found}


async def test_a_chat_s_next_row_waits_while_another_worker_holds_the_earlier(
    db: Database,
) -> None:
    x1, x2, y1 = await fill(db, [X, X, Y])
    assert await claim(db, "a", limit=1) == [x1]
    # x2 is due and unclaimed, but x1 before it is a's: b takes only the other chat.
    assert await claim(db, "b") == [y1]
    assert await record(db, "a", sent(x1)) == [1]
    assert await claim(db, "c") == [x2]  # once x1 is sent, x2 is free (y1 stays b's)


async def test_a_worker_takes_a_chat_s_rows_in_order_up_to_one_held_back(db: Database) -> None:
    x1, x2, x3, y1 = await fill(db, [X, X, X, Y])
    async with db.transaction() as tx:
        await outbox_outcomes.retry_later(tx, outbox_id=x2, due_at=utcnow() + timedelta(minutes=1))
    assert await claim(db, "a") == [x1, y1]  # x3 waits behind x2's retry
    assert x3 not in await claim(db, "b")


async def test_an_expired_claim_is_taken_over(db: Database) -> None:
    (x1,) = await fill(db, [X])
    assert await claim(db, "a") == [x1]
    assert await claim(db, "b") == []  # a's lease still runs
    assert await claim(db, "b", now=utcnow() + LEASE + timedelta(seconds=1)) == [x1]
    assert (await holders(db))[x1] == ("b", "pending")


async def test_an_outcome_of_a_lost_claim_changes_nothing(db: Database) -> None:
    (x1,) = await fill(db, [X])
    await claim(db, "a")
    assert await claim(db, "b", now=utcnow() + LEASE + timedelta(seconds=1)) == [x1]
    # a was stalled past its lease and now comes back: its outcome is not recorded...
    assert await record(db, "a", sent(x1)) == [0]
    assert await record(db, "a", outbox_outcomes.retried(outbox_id=x1, due_at=utcnow())) == [0]  # type: ignore[arg-type]
    given_up = outbox_outcomes.given_up(outbox_id=x1, status=OutboxStatus.FAILED)
    assert await record(db, "a", given_up) == [0]  # type: ignore[arg-type]
    assert (await holders(db))[x1] == ("b", "pending")
    # ...b's is, once.
    assert await record(db, "b", sent(x1)) == [1, *([] if len(sent(x1)) == 1 else [1])]
    async with db.read() as tx:
        attempts = await tx.scalar(select(OutboxMessage.attempts))  # type: ignore[call-overload]
    assert attempts == 1
    assert (await holders(db))[x1] == ("b", "sent")


async def test_a_retry_lets_the_row_go_to_any_worker(db: Database) -> None:
    (x1,) = await fill(db, [X])
    await claim(db, "a")
    later = utcnow() + timedelta(seconds=30)
    assert await record(db, "a", outbox_outcomes.retried(outbox_id=x1, due_at=later)) == [1]  # type: ignore[arg-type]
    assert (await holders(db))[x1] == (None, "pending")
    assert await claim(db, "b") == []  # not due yet
    assert await claim(db, "b", now=later) == [x1]


async def test_a_chat_gets_nothing_within_the_pace_of_its_last_notice(db: Database) -> None:
    x1, x2 = await fill(db, [X, X])
    assert await claim(db, "a", limit=1, pace=1.0) == [x1]
    await record(db, "a", sent(x1))
    # b at once: the chat had a notice less than a second ago, from a.
    assert await claim(db, "b", pace=1.0) == []
    assert await claim(db, "b", pace=1.0, now=utcnow() + timedelta(seconds=1.1)) == [x2]


async def test_release_and_renew_touch_only_the_worker_s_pending_claims(db: Database) -> None:
    x1, y1 = await fill(db, [X, Y])
    await claim(db, "a", limit=1)
    await claim(db, "b")
    now = utcnow()
    async with db.transaction() as tx:
        assert await outbox_claims.renew(tx, worker="a", now=now, lease=LEASE) == 1
        assert await outbox_claims.release(tx, worker="a") == 1
    assert await holders(db) == {x1: (None, "pending"), y1: ("b", "pending")}
    assert await claim(db, "c") == [x1]


async def test_two_workers_claiming_at_once_never_share_a_row(db: Database) -> None:
    chats = [Address("telegram", str(200 + n % 7)) for n in range(60)]
    await fill(db, chats)
    taken: dict[str, list[int]] = {"a": [], "b": []}

    async def worker(name: str) -> None:
        for _ in range(10):
            taken[name] += await claim(db, name, limit=4)
            await asyncio.sleep(0)

    await asyncio.gather(worker("a"), worker("b"))
    assert not set(taken["a"]) & set(taken["b"])
    assert taken["a"] and taken["b"]


async def test_interleaved_claims_skip_locked_rows_and_what_follows_them(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer: two claims cannot interleave")
    x1, x2, x3, y1 = await fill(db, [X, X, X, Y])
    async with db.transaction() as first:
        mine = await outbox_claims.claim(first, worker="a", now=utcnow(), lease=LEASE, limit=2)
        assert [row.id for row in mine] == [x1, x2]
        # a has not committed: b's snapshot shows x1 and x2 unclaimed. It skips them (locked),
        # and must not take x3 after them, nor wait for a.
        async with asyncio.timeout(5):
            assert await claim(db, "b") == [y1]
    assert await claim(db, "c") == []  # x3 is still behind a's x1 and x2
    assert (await holders(db))[x3] == (None, "pending")


async def test_rows_behind_a_held_back_one_do_not_use_up_the_limit(db: Database) -> None:
    x1, *_, y1 = await fill(db, [X, X, X, X, Y])
    async with db.transaction() as tx:
        await outbox_outcomes.retry_later(tx, outbox_id=x1, due_at=utcnow() + timedelta(minutes=1))
    # x2 to x4 are due but wait behind x1: the two places go to other chats' rows.
    assert await claim(db, "a", limit=2) == [y1]
