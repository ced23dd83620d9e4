"""``GET /metrics`` and ``GET /healthz`` of ``serve`` in process, on SQLite and on PostgreSQL.

The app runs through httpx's ASGI transport with the fake Graph API and the fake Bot API, as
``test_serve.py`` and ``test_serve_telegram.py`` do. The counters are this process's own
(``service/metrics.py``'s registry, shared by every test in the process): each test reads
them before and after, and checks the difference.
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import update

from channels.telegram.fake_api import FakeBotApi
from channels.telegram.inbound import address as telegram_address
from channels.whatsapp.fake_api import FakeGraphApi
from conversations.outbound import Outbound, to_json
from service import webhooks
from service.config import Settings
from service.serve import Served
from storage import outbox
from storage.database import Database
from storage.models import InboxUpdate, OutboxMessage, utcnow
from tests.conftest import TOKEN
from tests.service.test_serve import APP_SECRET, VERIFY_TOKEN
from tests.service.test_serve import CUSTOMER as WA_CUSTOMER
from tests.service.test_serve import serving as whatsapp_serving
from tests.service.test_serve_telegram import CUSTOMER as TG_CUSTOMER
from tests.service.test_serve_telegram import SECRET
from tests.service.test_serve_telegram import serving as telegram_serving

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def whatsapp_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": database_url,
            "whatsapp_token": SecretStr("test-token"),
            "whatsapp_phone_number_id": "100200300",
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_api_url": "https://graph.test/v26.0",
        }
    )


@pytest.fixture
def telegram_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": database_url,
            "telegram_token": SecretStr(TOKEN),
            "webhook_secret": SecretStr(SECRET),
        }
    )


async def scrape(client: httpx.AsyncClient) -> Samples:
    """GET /metrics, parsed as Prometheus parses it."""
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_whatsapp_posts_are_counted_stored_duplicate_refused_and_handled(
    whatsapp_settings: Settings,
) -> None:
    async with whatsapp_serving(whatsapp_settings, FakeGraphApi()) as s:
        before = await scrape(s.client)
        payload = s.hooks.text(WA_CUSTOMER, "hello")
        assert (await s.post(payload)).status_code == 200
        assert (await s.post(payload)).status_code == 200  # Meta's redelivery
        assert (await s.post(payload, secret="not-the-app-secret")).status_code == 403
        assert (await s.client.post("/whatsapp", content=b"{}")).status_code == 401
        await s.settle()
        after = await scrape(s.client)
    received = "mistri_updates_received_total"
    assert grew(before, after, received, channel="whatsapp", outcome="stored") == 1
    assert grew(before, after, received, channel="whatsapp", outcome="duplicate") == 1
    assert grew(before, after, received, channel="whatsapp", outcome="refused") == 2
    latency = "mistri_update_handling_seconds"
    assert grew(before, after, f"{latency}_count", channel="whatsapp") == 1
    assert grew(before, after, f"{latency}_bucket", channel="whatsapp", le="10.0") == 1
    assert value(after, "mistri_database_up") == 1


async def test_telegram_posts_and_sends_are_counted_with_429s(
    telegram_settings: Settings,
) -> None:
    api = FakeBotApi()
    async with telegram_serving(telegram_settings, api) as s:
        before = await scrape(s.client)
        update_ = api.text_update(TG_CUSTOMER, "/help", language_code="en")
        assert (await s.post(update_, secret="wrong")).status_code == 403
        assert (await s.post(update_)).status_code == 200
        assert (await s.post(update_)).status_code == 200
        await s.settle()
        runtime = s.served.runtime
        chat = telegram_address(TG_CUSTOMER)
        async with runtime.db.transaction() as tx:
            await outbox.enqueue(tx, to=chat, kind="notice", body=to_json(Outbound("one")))
        await runtime.settle()
        api.fail_next(TG_CUSTOMER, 429, "Too Many Requests: retry after 5", retry_after=5)
        async with runtime.db.transaction() as tx:
            await outbox.enqueue(tx, to=chat, kind="notice", body=to_json(Outbound("two")))
        await runtime.worker.run_once()  # the 429: waited for later, not sent now
        after = await scrape(s.client)
    received = "mistri_updates_received_total"
    assert grew(before, after, received, channel="telegram", outcome="refused") == 1
    assert grew(before, after, received, channel="telegram", outcome="stored") == 1
    assert grew(before, after, received, channel="telegram", outcome="duplicate") == 1
    assert grew(before, after, "mistri_update_handling_seconds_count", channel="telegram") == 1
    sends = "mistri_sends_total"
    assert grew(before, after, sends, channel="telegram", kind="notice", result="sent") == 1
    assert grew(before, after, sends, channel="telegram", kind="notice", result="retry") == 1
    assert grew(before, after, "mistri_rate_limited_total", channel="telegram") == 1
    # The one waiting out its 429 is pending, and not due yet.
    assert value(after, "mistri_outbox_pending") == 1
    assert value(after, "mistri_outbox_oldest_due_seconds") == 0


async def test_backlog_gauges_and_healthz_read_the_database(
    whatsapp_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with whatsapp_serving(whatsapp_settings, FakeGraphApi()) as s:
        healthy = await s.client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json() == {
            "status": "ok",
            "database": "ok",
            "inbox_pending": 0,
            "outbox_oldest_due_s": None,
        }
        # Nothing is handled or sent: what arrives stays pending, as behind a stuck worker.
        monkeypatch.setattr(s.served.intake, "submit", lambda row: None)
        await s.served.runtime.worker.close()
        for number in ("8801711000002", "8801711000003"):
            assert (await s.post(s.hooks.text(number, "hello"))).status_code == 200
        db = s.served.db
        async with db.transaction() as tx:
            to = telegram_address(TG_CUSTOMER)
            late = await outbox.enqueue(tx, to=to, kind="notice", body=to_json(Outbound("x")))
            await outbox.enqueue(tx, to=to, kind="notice", body=to_json(Outbound("y")))
        long_ago = utcnow() - timedelta(seconds=90)
        async with db.transaction() as tx:
            await tx.run(
                update(OutboxMessage).where(OutboxMessage.id == late).values(due_at=long_ago)  # type: ignore[arg-type]
            )
            await tx.run(update(InboxUpdate).values(received_at=utcnow() - timedelta(seconds=30)))
        answer = (await s.client.get("/healthz")).json()
        samples = await scrape(s.client)
    assert answer["database"] == "ok" and answer["inbox_pending"] == 2
    assert 89 <= answer["outbox_oldest_due_s"] < 300
    assert value(samples, "mistri_inbox_pending") == 2
    assert 29 <= value(samples, "mistri_inbox_oldest_pending_seconds") < 300
    assert value(samples, "mistri_outbox_pending") == 2
    assert 89 <= value(samples, "mistri_outbox_oldest_due_seconds") < 300
    assert WA_CUSTOMER not in str(answer)


def unreachable(backend: str, tmp_path: Any) -> Database:
    """A database that cannot be reached: a file in no directory, or a port nobody serves."""
    if backend == "postgresql":
        return Database.open("postgresql+asyncpg://mistri:pw@127.0.0.1:9/mistri")
    return Database.open(f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/mistri.db")


async def test_healthz_is_503_and_metrics_say_down_when_the_database_is_unreachable(
    whatsapp_settings: Settings, backend: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = unreachable(backend, tmp_path)
    async with whatsapp_serving(whatsapp_settings, FakeGraphApi()) as s:
        # What serve's routes ask for the database (the runtime keeps its own to close).
        monkeypatch.setattr(Served, "db", property(lambda served: gone))
        sick = await s.client.get("/healthz")
        samples = await scrape(s.client)
        monkeypatch.undo()  # the real one is closed on the way out
    await gone.close()
    assert sick.status_code == 503
    assert sick.json() == {"status": "unavailable", "database": "unavailable"}
    assert value(samples, "mistri_database_up") == 0
    assert math.isnan(value(samples, "mistri_outbox_oldest_due_seconds"))
    assert math.isnan(value(samples, "mistri_inbox_pending"))


class _Hangs:
    """A unit of work that never opens (a database that accepts and never answers)."""

    async def __aenter__(self) -> Any:
        await asyncio.sleep(3600)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType
    ) -> None:
        return None


async def test_healthz_gives_up_on_a_database_that_does_not_answer(
    whatsapp_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "HEALTH_TIMEOUT", 0.05)
    monkeypatch.setattr("service.metrics.SCRAPE_TIMEOUT", 0.05)
    async with whatsapp_serving(whatsapp_settings, FakeGraphApi()) as s:
        monkeypatch.setattr(s.served.db, "read", _Hangs)
        async with asyncio.timeout(5):
            sick = await s.client.get("/healthz")
            samples = await scrape(s.client)
        monkeypatch.undo()
    assert sick.status_code == 503
    assert value(samples, "mistri_database_up") == 0
