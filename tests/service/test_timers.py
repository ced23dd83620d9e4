"""The daily retention pass: started for ``mistri-bot run``, not offline; runs both erasures."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import update
from sqlmodel import col

import service.runtime as runtime_module
import service.timers as timers_module
from app.core import Core
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from channels.telegram.polling import build_bot
from conversations.session import Session
from service.config import Settings
from service.runtime import start
from service.timers import RETENTION_FIRST, RETENTION_INTERVAL, Timers
from storage import orders
from storage.models import ConversationSession, Customer, Order, OrderStatus, utcnow
from storage.retention import RetentionResult
from tests.conftest import TOKEN, Bot
from tests.storage.helpers import insert

RETENTION_TASK = "retention"  # the name Timers gives its task
WAIT = 5.0


def retention_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == RETENTION_TASK]


async def test_offline_runtimes_run_no_retention(bot: Bot) -> None:
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "offer-timers" in names  # the runtime's timers are running...
    assert retention_tasks() == []  # ...but not the retention pass


async def test_run_starts_the_pass_daily_soon_after_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `mistri-bot run` starts it: no request given, which means the real HTTP client.
    # Only the bot underneath is built offline, so that no network is needed.
    api = FakeBotApi()

    def offline_bot(token: str, base_url: str, **_: Any) -> Any:
        return build_bot(token, base_url, request=OfflineRequest(api), rate_limit=False)

    monkeypatch.setattr(runtime_module, "build_bot", offline_bot)
    runtime = await start(settings, token=TOKEN, announce=True)
    try:
        (_task,) = retention_tasks()
        assert timedelta(days=1) == RETENTION_INTERVAL
        assert timedelta(minutes=5) >= RETENTION_FIRST
    finally:
        await runtime.close()
    assert retention_tasks() == []  # stopped with the runtime


class RecordingAsyncio:
    """Stands in for ``asyncio`` inside service/timers.py: the retention task's sleeps are
    recorded and return at once (three of them, then it waits for good); the offer timers wait
    for good straight away."""

    def __init__(self, log: list[Any]) -> None:
        self._log = log
        self.parked = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        sleeps = [entry for entry in self._log if entry[0] == "sleep"]
        if task.get_name() != RETENTION_TASK or len(sleeps) == 3:
            if task.get_name() == RETENTION_TASK:
                self.parked.set()
            await asyncio.Event().wait()  # until stop() cancels it
        self._log.append(("sleep", seconds))
        await asyncio.sleep(0)


async def test_the_pass_runs_a_minute_after_start_then_every_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[Any] = []
    fake = RecordingAsyncio(log)
    monkeypatch.setattr(timers_module, "asyncio", fake)
    # No core is touched: the pass itself is replaced and the offer timers never wake.
    timers = Timers(cast(Core, None), retention_days=30, retention=True)

    async def one_pass() -> RetentionResult:
        log.append(("pass",))
        return RetentionResult()

    monkeypatch.setattr(timers, "retention_pass", one_pass)
    timers.start()
    try:
        await asyncio.wait_for(fake.parked.wait(), WAIT)
    finally:
        await timers.stop()
    first, daily = RETENTION_FIRST.total_seconds(), RETENTION_INTERVAL.total_seconds()
    assert log == [
        ("sleep", first),
        ("pass",),
        ("sleep", daily),
        ("pass",),
        ("sleep", daily),
        ("pass",),
    ]


async def test_the_pass_erases_expired_orders_and_abandoned_bookings(
    settings: Settings,
) -> None:
    settings.retention_days = 30
    api = FakeBotApi()
    runtime = await start(
        settings, token=TOKEN, request=OfflineRequest(api), rate_limit=False, retention=True
    )
    try:
        (_task,) = retention_tasks()
        now = utcnow()
        person = address(77)
        async with runtime.db.transaction() as tx:
            customer_id = await insert(
                tx, Customer(channel=person.channel, external_id=person.id, lang="en")
            )
            order_ids = []
            for number, age in ((1, 31), (2, 29)):
                order = Order(
                    reference=f"MS-000{number}",
                    draft_id=f"d{number}",
                    customer_id=customer_id,
                    service="plumbing",
                    area="mirpur",
                    phone="+8801712345678",
                    name="Rahim",
                    visit_date=date(2026, 1, 1),
                    visit_part="morning",
                    status=OrderStatus.DONE,
                    updated_at=now - timedelta(days=age),
                )
                order_ids.append(await insert(tx, order))
        # A booking the person walked away from, cached by the running bot's session store.
        await runtime.sessions.save(Session(person, "en", "booking", "address", {"name": "Rahim"}))
        async with runtime.db.transaction() as tx:
            changed = await tx.run(
                update(ConversationSession)
                .where(col(ConversationSession.channel) == person.channel)
                .where(col(ConversationSession.person_id) == person.id)
                .values(updated_at=now - timedelta(days=8))
            )
            assert changed == 1

        result = await runtime.timers.retention_pass()

        assert (result.orders, result.sessions) == (1, 1)
        async with runtime.db.read() as tx:
            old = await orders.load(tx, order_id=order_ids[0])
            recent = await orders.load(tx, order_id=order_ids[1])
        assert old is not None and recent is not None
        assert (old.phone, old.name, old.customer_id) == (None, None, None)
        assert (recent.phone, recent.name) == ("+8801712345678", "Rahim")
        session = await runtime.sessions.load(person)
        assert (session.lang, session.flow, session.data) == ("en", "idle", {})
    finally:
        await runtime.close()
