"""The delivery worker within Telegram's limits: chat spacing, slots, the busiest chat first."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from telegram.request import RequestData

from app.core import Core
from app.locks import LocalLocks
from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from channels.telegram.polling import rate_limiter
from conversations.outbound import Outbound, to_json
from service import delivery
from service.delivery import DeliveryWorker
from service.gate import Gate as _Gate
from storage import migrate, outbox
from storage.database import Database
from storage.sessions import SessionStore
from tests.conftest import TOKEN


class Arrivals(OfflineRequest):
    """The offline Bot API, noting when each message reaches it, per chat."""

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(api)
        self.at: dict[int, list[float]] = {}

    async def do_request(self, url, method, request_data=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(request_data, RequestData) and "chat_id" in request_data.parameters:
            chat = int(request_data.parameters["chat_id"])  # type: ignore[arg-type]
            self.at.setdefault(chat, []).append(time.monotonic())
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def no_offer(core: Core, offer_id: int) -> None:
    raise AssertionError(offer_id)


@pytest.fixture(autouse=True)
def _no_undeliverable_offer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only status notices here: no offer may be found undeliverable."""
    monkeypatch.setattr(delivery.offers, "offer_lapsed", no_offer)


async def deliver(
    tmp_path: Path, notices: list[int], *, interval: float, limited: bool, concurrency: int = 8
) -> tuple[Arrivals, float]:
    """Queue a notice per chat id in ``notices`` and drain the worker; (arrivals, seconds)."""
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    await migrate.upgrade(db.engine)
    for chat in notices:
        async with db.transaction() as tx:
            body = to_json(Outbound(f"Notice for {chat}"))
            await outbox.enqueue(tx, to=address(chat), kind="status", body=body)
    request = Arrivals(FakeBotApi(record_calls=False))
    bot = MistriBot(TOKEN, request=request, rate_limiter=rate_limiter() if limited else None)
    await bot.initialize()
    core = Core(
        db=db,
        sessions=SessionStore(db),
        channels={"telegram": TelegramChannel(bot)},
        lock=LocalLocks(),
    )
    worker = DeliveryWorker(core, per_chat_interval=interval, concurrency=concurrency)
    started = time.monotonic()
    await worker.drain()
    took = time.monotonic() - started
    await bot.shutdown()
    await db.close()
    assert worker.sent == len(notices)
    return request, took


async def test_a_chat_waiting_for_its_second_holds_no_slot(tmp_path: Path) -> None:
    # Four chats, three notices each, one slot: while a chat waits its interval the others
    # go, so the whole takes about three intervals, not twelve.
    request, took = await deliver(
        tmp_path, [1, 2, 3, 4] * 3, interval=0.2, limited=False, concurrency=1
    )
    assert took < 0.2 * 3 + 0.2
    for times in request.at.values():
        assert len(times) == 3
        assert all(later - earlier >= 0.2 for earlier, later in itertools.pairwise(times))


async def test_notices_to_one_chat_arrive_an_interval_apart_behind_the_rate_limiter(
    tmp_path: Path,
) -> None:
    # 40 chats at once fill the limiter's queue: the spacing counts from each arrival, not
    # from when the worker asked, so a notice held in the queue does not shorten the next gap.
    request, _ = await deliver(tmp_path, list(range(100, 140)) * 2, interval=0.5, limited=True)
    for times in request.at.values():
        assert times[1] - times[0] >= 0.5
    everything = sorted(t for times in request.at.values() for t in times)
    # Never more than 30 in any second (the limiter's burst is one).
    assert all(
        sum(1 for t in everything if start <= t < start + 1.0) <= 30 for start in everything
    )


async def test_the_gate_lets_the_chat_with_most_left_go_first() -> None:
    gate = _Gate(1)
    order: list[int] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.turn(1):
            await release.wait()

    async def waiter(left: int) -> None:
        async with gate.turn(left):
            order.append(left)

    holding = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(waiter(left)) for left in (1, 5, 2, 5)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(holding, *waiters)
    assert order == [5, 5, 2, 1]


async def test_a_cancelled_waiter_takes_no_slot_with_it() -> None:
    gate = _Gate(1)
    release = asyncio.Event()
    entered: list[str] = []

    async def holder() -> None:
        async with gate.turn(1):
            await release.wait()

    async def waiter(name: str, left: int) -> None:
        async with gate.turn(left):
            entered.append(name)

    holding = asyncio.create_task(holder())
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(waiter("cancelled", 9))
    patient = asyncio.create_task(waiter("patient", 1))
    await asyncio.sleep(0)
    cancelled.cancel()
    release.set()
    await asyncio.gather(holding, patient)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert entered == ["patient"]
    async with asyncio.timeout(1):  # the slot came back
        async with gate.turn(1):
            entered.append("again")
    assert entered == ["patient", "again"]
