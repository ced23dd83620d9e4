"""drain(): everything due goes out, what sending causes too, without idle database rounds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import delivery
from bot.delivery import DeliveryWorker
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.bot import MistriBot
from conversations.outbound import Outbound, to_json
from storage import outbox
from storage.engine import begin
from tests.conftest import TOKEN


async def no_offer(offer_id: int) -> None:
    raise AssertionError(offer_id)


async def enqueue(engine: AsyncEngine, chat: int, text: str) -> None:
    async with begin(engine) as conn:
        await outbox.enqueue(conn, chat_id=chat, kind="status", body=to_json(Outbound(chat, text)))


class Answering(OfflineRequest):
    """The offline Bot API; the first message to chat 1 makes the bot commit a follow-up."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(FakeBotApi(record_calls=False))
        self.engine = engine
        self.worker: DeliveryWorker | None = None
        self.texts: list[str] = []

    async def do_request(self, url, method, request_data=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request_data is not None and "text" in request_data.parameters:
            text = str(request_data.parameters["text"])
            self.texts.append(text)
            if text == "first" and self.worker is not None:
                await enqueue(self.engine, 1, "caused by the first")
                self.worker.wake()
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def drained(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> tuple[Answering, list[int]]:
    """Drain a worker; return the request (texts sent) and the rows each due() returned."""
    request = Answering(engine)
    bot = MistriBot(TOKEN, request=request)
    await bot.initialize()
    worker = DeliveryWorker(
        engine=engine, bot=bot, on_offer_undeliverable=no_offer, per_chat_interval=0
    )
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
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enqueue(engine, 2, "a")
    await enqueue(engine, 3, "b")
    request, rounds = await drained(engine, monkeypatch)
    assert sorted(request.texts) == ["a", "b"]
    assert rounds == [2]  # no second, empty look at the outbox


async def test_what_sending_commits_goes_out_in_the_same_drain(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enqueue(engine, 1, "first")
    request, rounds = await drained(engine, monkeypatch)
    assert request.texts == ["first", "caused by the first"]
    assert rounds[:2] == [1, 1]


async def test_a_full_round_is_followed_by_another(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for chat in range(10, 10 + delivery.ROUND_SIZE + 3):
        await enqueue(engine, chat, f"n{chat}")
    request, rounds = await drained(engine, monkeypatch)
    assert len(request.texts) == delivery.ROUND_SIZE + 3
    assert rounds[:2] == [delivery.ROUND_SIZE, 3]


async def test_a_chat_gets_nothing_past_a_notice_waiting_for_its_retry(
    engine: AsyncEngine,
) -> None:
    await enqueue(engine, 5, "A")
    await enqueue(engine, 5, "B")
    await enqueue(engine, 6, "other chat")
    request = Answering(engine)
    request.api.fail_next(5, 502, "Bad Gateway")  # A: a network error, retried later
    bot = MistriBot(TOKEN, request=request)
    await bot.initialize()
    worker = DeliveryWorker(
        engine=engine, bot=bot, on_offer_undeliverable=no_offer, per_chat_interval=0
    )
    await worker.drain()
    await worker.drain()  # B is due, but A, written first, is not yet
    assert request.texts == ["A", "other chat"] or request.texts == ["other chat", "A"]
    async with begin(engine) as conn:  # A's retry comes due
        await conn.exec_driver_sql(
            "UPDATE outbox SET due_at = '2000-01-01' WHERE status = 'pending'"
        )
    await worker.drain()
    await bot.shutdown()
    assert [text for text in request.texts if text != "other chat"] == ["A", "A", "B"]
