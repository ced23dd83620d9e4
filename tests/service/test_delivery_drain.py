"""drain(): everything due goes out, what sending causes too, without idle database rounds."""

from __future__ import annotations

from typing import Any

import pytest

from app.core import Core
from app.locks import LocalLocks
from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from conversations.outbound import Outbound, to_json
from service import delivery
from service.delivery import DeliveryWorker
from storage import outbox
from storage.database import Database
from storage.sessions import SessionStore
from tests.conftest import TOKEN


async def no_offer(core: Core, offer_id: int) -> None:
    raise AssertionError(offer_id)


def worker_for(db: Database, bot: MistriBot, monkeypatch: pytest.MonkeyPatch) -> DeliveryWorker:
    """A delivery worker on ``db`` sending through ``bot``; no offer may become undeliverable."""
    monkeypatch.setattr(delivery.offers, "offer_lapsed", no_offer)
    core = Core(
        db=db,
        sessions=SessionStore(db),
        channels={"telegram": TelegramChannel(bot)},
        lock=LocalLocks(),
    )
    return DeliveryWorker(core, per_chat_interval=0)


async def enqueue(db: Database, chat: int, text: str) -> None:
    async with db.transaction() as tx:
        await outbox.enqueue(tx, to=address(chat), kind="status", body=to_json(Outbound(text)))


class Answering(OfflineRequest):
    """The offline Bot API; the first message to chat 1 makes the bot commit a follow-up."""

    def __init__(self, db: Database) -> None:
        super().__init__(FakeBotApi(record_calls=False))
        self.db = db
        self.worker: DeliveryWorker | None = None
        self.texts: list[str] = []

    async def do_request(self, url, method, request_data=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request_data is not None and "text" in request_data.parameters:
            text = str(request_data.parameters["text"])
            self.texts.append(text)
            if text == "first" and self.worker is not None:
                await enqueue(self.db, 1, "caused by the first")
                self.worker.wake()
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def drained(db: Database, monkeypatch: pytest.MonkeyPatch) -> tuple[Answering, list[int]]:
    """Drain a worker; return the request (texts sent) and the rows each due() returned."""
    request = Answering(db)
    bot = MistriBot(TOKEN, request=request)
    await bot.initialize()
    worker = worker_for(db, bot, monkeypatch)
    request.worker = worker
    rounds: list[int] = []
    due = outbox.due

    async def counted_due(*args: Any, **kwargs: Any) -> list[outbox.Pending]:
        rows = await due(*args, **kwargs)
        rounds.append(len(rows))
        return rows

    monkeypatch.setattr(delivery.outbox, "due", counted_due)
    await worker.drain()
    await bot.shutdown()
    return request, rounds


async def test_one_round_when_sending_causes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enqueue(db, 2, "a")
    await enqueue(db, 3, "b")
    request, rounds = await drained(db, monkeypatch)
    assert sorted(request.texts) == ["a", "b"]
    assert rounds == [2]  # no second, empty look at the outbox


async def test_what_sending_commits_goes_out_in_the_same_drain(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enqueue(db, 1, "first")
    request, rounds = await drained(db, monkeypatch)
    assert request.texts == ["first", "caused by the first"]
    assert rounds[:2] == [1, 1]


async def test_a_full_round_is_followed_by_another(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for chat in range(10, 10 + delivery.ROUND_SIZE + 3):
        await enqueue(db, chat, f"n{chat}")
    request, rounds = await drained(db, monkeypatch)
    assert len(request.texts) == delivery.ROUND_SIZE + 3
    assert rounds[:2] == [delivery.ROUND_SIZE, 3]


async def test_a_chat_gets_nothing_past_a_notice_waiting_for_its_retry(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enqueue(db, 5, "A")
    await enqueue(db, 5, "B")
    await enqueue(db, 6, "other chat")
    request = Answering(db)
    request.api.fail_next(5, 502, "Bad Gateway")  # A: a network error, retried later
    bot = MistriBot(TOKEN, request=request)
    await bot.initialize()
    worker = worker_for(db, bot, monkeypatch)
    await worker.drain()
    await worker.drain()  # B is due, but A, written first, is not yet
    assert request.texts == ["A", "other chat"] or request.texts == ["other chat", "A"]
    async with db.transaction() as tx:  # A's retry comes due
        await tx.conn.exec_driver_sql(
            "UPDATE outbox SET due_at = '2000-01-01' WHERE status = 'pending'"
        )
    await worker.drain()
    await bot.shutdown()
    assert [text for text in request.texts if text != "other chat"] == ["A", "A", "B"]
