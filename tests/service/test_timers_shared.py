"""Several workers: the offers' clock runs in one of them, and moves when that one stops."""

from __future__ import annotations

import asyncio

import pytest

import service.timers as timers_module
from app.core import Core
from service.timers import Timers
from storage.database import Database
from tests.app.recording import recording_core

TICK = 0.1  # the lease lasts three ticks


async def test_the_offers_clock_runs_in_one_worker_and_moves_when_it_stops(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    names: dict[int, str] = {}

    async def expire_lapsed(core: Core) -> int:
        ran.append(names[id(core)])
        return 0

    monkeypatch.setattr(timers_module.offers, "expire_lapsed", expire_lapsed)
    async with recording_core(db) as first, recording_core(db) as second:
        names.update({id(first): "a", id(second): "b"})
        a = Timers(first, retention_days=30, retention=False, offer_interval=TICK, holder="a")
        b = Timers(second, retention_days=30, retention=False, offer_interval=TICK, holder="b")
        a.start()
        await asyncio.sleep(TICK / 2)  # a asks first
        b.start()
        await asyncio.sleep(TICK * 6)
        assert ran and set(ran) == {"a"}  # b's clock ticks too, and does nothing
        await a.stop()  # a dies: its lease runs out after three ticks, and b takes it
        ran.clear()
        await asyncio.sleep(TICK * 6)
        await b.stop()
    assert ran and set(ran) == {"b"}
