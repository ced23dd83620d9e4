"""Several delivery workers on one outbox: each notice sent once, each chat in order, paced."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core import Core
from app.ports import Progress, Sent
from conversations.events import Address
from conversations.outbound import Outbound, to_json
from service import delivery
from service.delivery import DeliveryWorker
from service.delivery_claims import Claims
from storage import outbox
from storage.database import Database
from storage.models import OutboxMessage, OutboxStatus, utcnow
from tests.app.recording import RecordingChannel, recording_core


class Timed(RecordingChannel):
    """Records what arrives, and when, per chat (one list for every worker sending through it)."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[Address, list[float]] = {}

    async def send(
        self, chat: Address, message: Outbound, *, progress: Progress | None = None
    ) -> Sent:
        await asyncio.sleep(0.001)  # a send takes a while: the other worker runs meanwhile
        self.at.setdefault(chat, []).append(time.monotonic())
        return await super().send(chat, message, progress=progress)


async def fill(db: Database, chats: list[Address]) -> None:
    async with db.transaction() as tx:
        for n, chat in enumerate(chats):
            body = to_json(Outbound(f"{chat.id}:{n:04d}"))
            await outbox.enqueue(tx, to=chat, kind="status", body=body)


async def pending(db: Database) -> int:
    async with db.read() as tx:
        query = select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)  # type: ignore[arg-type]
        return int(await tx.scalar(query))


async def cores(db: Database, channel: Timed, count: int) -> AsyncIterator[list[Core]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(recording_core(db, channel)) for _ in range(count)]


def in_order(channel: Timed, chat: Address) -> bool:
    texts = channel.texts(chat)
    return texts == sorted(texts)


async def test_two_workers_drain_200_notices_each_once_each_chat_in_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small rounds, so that both workers take turns at the 200 rather than one taking all.
    monkeypatch.setattr(delivery, "ROUND_SIZE", 10)
    chats = [Address("telegram", str(500 + n)) for n in range(20)]
    await fill(db, [chats[n % 20] for n in range(200)])
    channel = Timed()
    async for first, second in cores(db, channel, 2):
        workers = [
            DeliveryWorker(core, per_chat_interval=0, worker_id=name)
            for core, name in ((first, "a"), (second, "b"))
        ]
        while await pending(db):
            await asyncio.gather(*(worker.drain() for worker in workers))
    texts = [message.text for _, message in channel.sent if isinstance(message, Outbound)]
    assert len(texts) == 200 and len(set(texts)) == 200  # every one, none twice
    assert all(in_order(channel, chat) for chat in chats)
    assert workers[0].sent and workers[1].sent  # both took a share
    assert workers[0].sent + workers[1].sent == 200


async def test_a_chat_is_paced_across_workers(db: Database) -> None:
    x = Address("telegram", "700")
    channel = Timed()
    async for first, second in cores(db, channel, 2):
        a = DeliveryWorker(first, per_chat_interval=0.3, worker_id="a")
        b = DeliveryWorker(second, per_chat_interval=0.3, worker_id="b")
        await fill(db, [x])
        assert await a.run_once() == 1
        await fill(db, [x])
        # b never sent to x, yet x had a notice less than 0.3 s ago (from a): b waits.
        assert await b.run_once() == 0
        await asyncio.sleep(0.35)
        assert await b.run_once() == 1
    first_at, second_at = channel.at[x]
    assert second_at - first_at >= 0.3


async def test_running_workers_keep_each_chat_s_pace_and_order(db: Database) -> None:
    chats = [Address("telegram", str(800 + n)) for n in range(3)]
    channel = Timed()
    async for several in cores(db, channel, 2):
        workers = [
            DeliveryWorker(core, per_chat_interval=0.2, poll_interval=0.1, worker_id=name)
            for core, name in zip(several, "ab", strict=True)
        ]
        for worker in workers:
            worker.start()
        try:
            for _ in range(3):  # notices keep coming while both run
                await fill(db, chats)
                for worker in workers:
                    worker.wake()
                await asyncio.sleep(0.05)
            async with asyncio.timeout(10):
                while await pending(db):  # noqa: ASYNC110 - the database has no event
                    await asyncio.sleep(0.05)
        finally:
            for worker in workers:
                await worker.close()
    for chat in chats:
        times = channel.at[chat]
        assert len(times) == 3 and in_order(channel, chat)
        assert all(later - earlier >= 0.2 for earlier, later in itertools.pairwise(times))


async def test_a_long_round_keeps_its_claims_and_lets_go_at_its_end(db: Database) -> None:
    x = Address("telegram", "900")
    await fill(db, [x])
    a = Claims(db, "a", utcnow, pace=0, lease=timedelta(seconds=0.3))
    b = Claims(db, "b", utcnow, pace=0)
    (row,) = await a.take(10)
    async with a.holding():
        await asyncio.sleep(0.5)  # past the first lease: renewed every 0.1 s meanwhile
        assert await b.take(10) == []
    assert [found.id for found in await b.take(10)] == [row.id]  # let go at once
