"""Long polling: updates handed over in order, reasons to stop the bot, a stop that never waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from telegram import Update

from channels.telegram.fake_api import OfflineRequest
from channels.telegram.polling import REFUSED, Poller, PollingStopped, build_bot
from tests.channels.telegram.faulty_api import CONFLICT, WEBHOOK_CONFLICT, FaultyBotApi

TOKEN = "7000000001:TEST-offline-token-000000000000000"
WAIT = 5.0
ALICE, BOB = 5_001, 5_002


@pytest.fixture
def api() -> FaultyBotApi:
    return FaultyBotApi()


class Received:
    """What the poller handed over, and a way to wait for it."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.arrived = asyncio.Event()

    def __call__(self, update: Update) -> None:
        self.updates.append(update)
        self.arrived.set()

    async def at_least(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.updates) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def received() -> Received:
    return Received()


@pytest.fixture
async def poller(api: FaultyBotApi, received: Received) -> AsyncIterator[Poller]:
    bot = build_bot(TOKEN, "http://offline/bot", request=OfflineRequest(api), rate_limit=False)
    await bot.initialize()
    # A short long poll, so a test never waits on one by accident.
    poller = Poller(bot, received, timeout=1, max_backoff=0.2)
    try:
        yield poller
    finally:
        await poller.stop()
        await bot.shutdown()


async def until(predicate: Callable[[], bool]) -> None:
    for _ in range(int(WAIT / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    pytest.fail("timed out")


def polls(api: FaultyBotApi) -> list[dict[str, object]]:
    return [call.params for call in api.calls if call.method == "getUpdates"]


async def test_updates_are_handed_over_in_order_and_a_bad_one_stops_none(
    api: FaultyBotApi, poller: Poller, received: Received
) -> None:
    def refuse_the_second(update: Update) -> None:
        if len(received.updates) == 1 and not getattr(refuse_the_second, "done", False):
            refuse_the_second.done = True  # type: ignore[attr-defined]
            raise RuntimeError("cannot take this one in")
        received(update)

    poller._receive = refuse_the_second
    for i in range(5):
        api.enqueue(api.text_update(ALICE if i % 2 else BOB, f"message {i}"))
    await poller.start()
    await received.at_least(4)
    texts = [update.message.text for update in received.updates if update.message]
    assert texts == ["message 0", "message 2", "message 3", "message 4"]


async def test_a_second_poller_on_the_token_stops_polling_with_its_reason(
    api: FaultyBotApi, poller: Poller
) -> None:
    api.refuse("getUpdates", 409, CONFLICT)
    await poller.start()
    with pytest.raises(PollingStopped, match="another process is fetching"):
        async with asyncio.timeout(WAIT):
            await poller.wait()
    assert len(polls(api)) == 1  # not retried


async def test_a_webhook_on_the_token_is_named_as_the_reason(
    api: FaultyBotApi, poller: Poller
) -> None:
    api.refuse("getUpdates", 409, WEBHOOK_CONFLICT)
    await poller.start()
    with pytest.raises(PollingStopped, match="a webhook is set"):
        async with asyncio.timeout(WAIT):
            await poller.wait()


async def test_a_token_refused_while_polling_stops_polling(
    api: FaultyBotApi, poller: Poller, received: Received
) -> None:
    await poller.start()
    api.enqueue(api.text_update(ALICE, "hello"))
    await received.at_least(1)
    api.refuse("getUpdates", 401, "Unauthorized")
    with pytest.raises(PollingStopped) as stopped:
        async with asyncio.timeout(WAIT):
            await poller.wait()
    assert str(stopped.value) == REFUSED
    assert TOKEN not in REFUSED and "@BotFather" in REFUSED


async def test_network_errors_are_retried_until_the_bot_api_is_back(
    api: FaultyBotApi, poller: Poller, received: Received
) -> None:
    api.refuse("getUpdates", 502, "Bad Gateway")
    await poller.start()
    await until(lambda: len(polls(api)) >= 3)
    del api.refusals["getUpdates"]
    api.enqueue(api.text_update(ALICE, "still there?"))
    await received.at_least(1)


async def test_a_stop_does_not_wait_out_a_wait_telegram_asked_for(
    api: FaultyBotApi, poller: Poller
) -> None:
    api.refuse("getUpdates", 429, "Too Many Requests: retry after 60", retry_after=60)
    await poller.start()
    await until(lambda: bool(polls(api)))
    await asyncio.sleep(0.05)  # inside the 60 s wait now
    began = time.monotonic()
    await poller.stop()
    assert time.monotonic() - began < 0.5


def stall_after(api: FaultyBotApi, received: Received, count: int) -> Callable[[Update], None]:
    """From the ``count``-th update handed over on, the Bot API answers nothing."""

    def receive(update: Update) -> None:
        received(update)
        if len(received.updates) == count:
            # Before the next long poll goes out: it will not reach the server's queue, so
            # the updates fetched are not confirmed by it.
            api.stall_everything = True

    return receive


async def test_a_stop_confirms_the_updates_fetched(
    api: FaultyBotApi, poller: Poller, received: Received
) -> None:
    poller._receive = stall_after(api, received, 2)
    api.enqueue(api.text_update(ALICE, "one"))
    api.enqueue(api.text_update(BOB, "two"))
    await poller.start()
    await received.at_least(2)
    assert api.pending_updates == 2  # fetched, not confirmed yet
    api.stall_everything = False  # the Bot API answers again; the long poll sent is lost
    async with asyncio.timeout(WAIT):
        await poller.stop()
    assert polls(api)[-1].get("offset") == received.updates[-1].update_id + 1
    assert api.pending_updates == 0  # a new process is not handed them again


async def test_a_stop_gives_up_confirming_when_the_bot_api_does_not_answer(
    api: FaultyBotApi, poller: Poller, received: Received, caplog: pytest.LogCaptureFixture
) -> None:
    poller._receive = stall_after(api, received, 1)
    api.enqueue(api.text_update(ALICE, "one"))
    await poller.start()
    await received.at_least(1)
    began = time.monotonic()
    async with asyncio.timeout(WAIT):
        await poller.stop()
    assert time.monotonic() - began < 1.5  # CONFIRM_TIMEOUT
    assert "could not confirm the last updates fetched" in caplog.text


async def test_a_poller_started_beside_a_webhook_stops_in_one_line_and_leaves_it(
    api: FaultyBotApi, poller: Poller
) -> None:
    await api.handle("setWebhook", {"url": "https://example.org/telegram"})
    with pytest.raises(PollingStopped, match="a webhook is set") as stopped:
        await poller.start()
    assert "\n" not in str(stopped.value)
    # The webhook is still there: `serve` keeps its updates.
    assert api.webhook_url == "https://example.org/telegram"
    assert not polls(api)
