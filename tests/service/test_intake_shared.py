"""Two ``serve`` workers on one database: the inbox shared by claims, nothing cached stale.

Each worker is the real ``serve`` runtime and intake (``service.serve.opened`` with
``shared=True``, as on PostgreSQL) with its own core, in one process, against one fake Graph
API, which records what the customer got and in what order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from channels.whatsapp.fake_api import FakeGraphApi, Webhooks
from conversations.events import Address, Command, Inbound
from service import intake as intake_module
from service.config import Settings
from service.serve import Served, opened
from service.webhooks import whatsapp_items
from storage import inbox
from storage.database import Database
from storage.inbox import Claim, Stored
from storage.models import utcnow

CUSTOMER = "8801711000001"
PERSON = Address("whatsapp", CUSTOMER)
#: The intake's timings in these tests: sweeps often; unclaimed rows are orphans at once.
FAST = {"sweep_every": 0.02, "orphan_after": timedelta(0)}


@pytest.fixture
def shared_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": database_url,
            "whatsapp_token": SecretStr("test-token"),
            "whatsapp_phone_number_id": "100200300",
            "whatsapp_app_secret": SecretStr("test-app-secret"),
            "whatsapp_verify_token": SecretStr("test-verify-token"),
            "whatsapp_api_url": "https://graph.test/v26.0",
        }
    )


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    api = FakeGraphApi()
    yield api
    _HOOKS.pop(id(api), None)


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(worker, command) of every event the intakes hand to the core, in order."""
    seen: list[tuple[str, str]] = []
    real_handle = intake_module.handle

    async def recording(core: Any, event: Inbound, **kwargs: Any) -> None:
        payload = event.payload
        seen.append((core.worker_name, payload.name if isinstance(payload, Command) else "?"))
        await real_handle(core, event, **kwargs)

    monkeypatch.setattr(intake_module, "handle", recording)
    return seen


@asynccontextmanager
async def worker(settings: Settings, graph: FakeGraphApi, **options: Any) -> AsyncIterator[Served]:
    """One worker: the runtime and the shared intake, started (its first sweep done)."""
    async with opened(
        settings,
        transport=graph.transport(),
        offline=True,
        shared=True,
        intake_options={**FAST, **options},
    ) as served:
        assert served.intake.worker is not None
        served.runtime.core.worker_name = served.intake.worker  # type: ignore[attr-defined]
        yield served


#: The customers' side of the fake Graph API of each test (message ids count on from it).
_HOOKS: dict[int, Webhooks] = {}


async def store(db: Database, graph: FakeGraphApi, *commands: str) -> list[Stored]:
    """Store the customer's commands as the webhook does, without handing them to anyone."""
    hooks = _HOOKS.setdefault(id(graph), Webhooks(graph))
    return await store_bodies(db, *(hooks.text(CUSTOMER, f"/{command}") for command in commands))


async def store_bodies(db: Database, *payloads: dict[str, Any]) -> list[Stored]:
    """Store webhook bodies as the webhook does, without handing them to anyone."""
    rows = []
    async with db.transaction() as tx:
        for payload in payloads:
            for item in whatsapp_items(payload):
                row = await inbox.store(
                    tx,
                    channel="whatsapp",
                    external_id=item.external_id,
                    person=item.person,
                    body=item.body,
                )
                assert row is not None
                rows.append(row)
    return rows


async def states(db: Database) -> list[tuple[str, int, str | None]]:
    async with db.read() as tx:
        found = await tx.execute(text("SELECT state, attempts, claimed_by FROM inbox ORDER BY id"))
        return [tuple(row) for row in found.all()]  # type: ignore[misc]


async def all_done(db: Database, count: int) -> None:
    """Wait until the inbox holds ``count`` rows, all done (10 s at most)."""
    for _ in range(500):
        if [state for state, _, _ in await states(db)] == ["done"] * count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not all done: {await states(db)}")


async def claim_for(db: Database, row: int, name: str, *, lapsed: bool = False) -> None:
    """Claim ``row`` for worker ``name`` (a lease already over when ``lapsed``)."""
    now = utcnow() - (intake_module.LEASE + timedelta(seconds=1) if lapsed else timedelta(0))
    async with db.transaction() as tx:
        found = await inbox.claim(
            tx, inbox_id=row, worker=name, now=now, lease=intake_module.LEASE
        )
    assert found is Claim.TAKEN


async def test_a_persons_updates_across_two_workers_are_handled_in_arrival_order(
    shared_settings: Settings, graph: FakeGraphApi, handled: list[tuple[str, str]]
) -> None:
    async with AsyncExitStack() as stack:
        # Long sweeps: the test hands each worker its rows, as their webhooks would.
        a = await stack.enter_async_context(worker(shared_settings, graph, sweep_every=60))
        b = await stack.enter_async_context(worker(shared_settings, graph, sweep_every=60))
        first, second, third = await store(a.db, graph, "help", "privacy", "start")
        await claim_for(a.db, first.id, str(a.intake.worker))  # A has it, not handled yet
        b.intake.submit(second)
        b.intake.submit(third)
        await asyncio.sleep(0.3)  # B tries again and again meanwhile
        assert handled == []
        assert graph.sent_to(CUSTOMER) == []
        assert [state for state, _, _ in await states(a.db)] == ["pending"] * 3
        a.intake.submit(first)
        async with asyncio.timeout(10):
            await a.intake.drain()
            await b.intake.drain()
        # Every row done (a row B dropped would stay pending: the sweeps are a minute apart).
        await all_done(a.db, 3)
        await b.intake.drain()
        assert handled == [
            (a.intake.worker, "help"),
            (b.intake.worker, "privacy"),
            (b.intake.worker, "start"),
        ]
        assert [state for state, _, _ in await states(a.db)] == ["done"] * 3
        answers = graph.sent_to(CUSTOMER)
        assert len(answers) >= 3


async def test_a_dead_workers_update_is_taken_by_another_after_its_lease_and_handled_once(
    shared_settings: Settings, graph: FakeGraphApi, handled: list[tuple[str, str]]
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(worker(shared_settings, graph, sweep_every=60))
        (row,) = await store(a.db, graph, "help")
        await claim_for(a.db, row.id, "dead-host:1:0")  # the lease is still running
        b = await stack.enter_async_context(worker(shared_settings, graph))
        await asyncio.sleep(0.2)
        assert handled == []  # held by a worker whose lease has not run out: left to it
        async with a.db.transaction() as tx:
            await tx.execute(
                text("UPDATE inbox SET claimed_until = :past"),
                {"past": utcnow() - timedelta(seconds=1)},
            )
        c = await stack.enter_async_context(worker(shared_settings, graph))
        await all_done(a.db, 1)
        await asyncio.sleep(0.2)  # more sweeps: nobody takes it again
        assert [name for name, _ in handled] in ([b.intake.worker], [c.intake.worker])
        (state, attempts, holder) = (await states(a.db))[0]
        assert (state, attempts) == ("done", 1)
        assert holder == handled[0][0]
        assert len(graph.sent_to(CUSTOMER)) >= 1


async def test_a_worker_that_lost_its_lease_does_not_mark_the_update_done_again(
    shared_settings: Settings,
    graph: FakeGraphApi,
    handled: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = intake_module.handle
    slow_started, resume = asyncio.Event(), asyncio.Event()

    async def slow_in_a(core: Any, event: Inbound, **kwargs: Any) -> None:
        if core.worker_name == slow_name[0]:
            slow_started.set()
            await resume.wait()  # paused past its lease
        await recording(core, event, **kwargs)

    slow_name: list[str] = []
    monkeypatch.setattr(intake_module, "handle", slow_in_a)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            worker(shared_settings, graph, sweep_every=60, lease=timedelta(milliseconds=200))
        )
        slow_name.append(str(a.intake.worker))
        (row,) = await store(a.db, graph, "help")
        a.intake.submit(row)
        await asyncio.wait_for(slow_started.wait(), 5)
        await asyncio.sleep(0.3)  # A's lease is over
        b = await stack.enter_async_context(worker(shared_settings, graph))
        await all_done(a.db, 1)
        assert await states(a.db) == [("done", 1, b.intake.worker)]
        resume.set()
        async with asyncio.timeout(10):
            await a.intake.drain()
        # A handled it too (at least once across a lease's end), but its done mark is void.
        assert sorted(name for name, _ in handled) == sorted(
            [str(a.intake.worker), str(b.intake.worker)]
        )
        assert await states(a.db) == [("done", 1, b.intake.worker)]


async def test_two_workers_starting_on_the_same_pending_rows_handle_each_once(
    shared_settings: Settings,
    graph: FakeGraphApi,
    handled: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = intake_module.handle
    both_started = asyncio.Event()

    async def gated(core: Any, event: Inbound, **kwargs: Any) -> None:
        await both_started.wait()  # the first worker's events are in hand, not finished
        await recording(core, event, **kwargs)

    monkeypatch.setattr(intake_module, "handle", gated)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(worker(shared_settings, graph, sweep_every=60))
        # Left pending by a stop: nobody holds them.
        await store(first.db, graph, "help", "privacy", "start")
        await stack.aclose()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(worker(shared_settings, graph))
        await asyncio.sleep(0.1)  # A has claimed all three (their handling waits)
        # B at its start (default timings) leaves alone what A holds or has in hand.
        b = await stack.enter_async_context(
            worker(shared_settings, graph, orphan_after=intake_module.ORPHAN_AFTER)
        )
        assert a.intake.waiting == 3
        assert b.intake.waiting == 0
        await asyncio.sleep(0.2)  # more sweeps of both
        both_started.set()
        await all_done(a.db, 3)
        async with asyncio.timeout(10):
            await a.intake.drain()
            await b.intake.drain()
        await asyncio.sleep(0.2)
        assert [command for _, command in handled] == ["help", "privacy", "start"]
        assert [attempts for _, attempts, _ in await states(a.db)] == [1, 1, 1]


async def test_a_session_changed_by_one_worker_is_seen_by_the_other(
    shared_settings: Settings, graph: FakeGraphApi
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(worker(shared_settings, graph, sweep_every=60))
        b = await stack.enter_async_context(worker(shared_settings, graph, sweep_every=60))
        # B answers the customer's first message: their session, in Bengali, is B's to cache.
        (row,) = await store(b.db, graph, "help")
        b.intake.submit(row)
        await b.intake.drain()
        assert (await b.runtime.sessions.load(PERSON)).lang == "bn"
        # A takes their switch to English (a tap on the language button).
        hooks = _HOOKS[id(graph)]
        (switch,) = await store_bodies(a.db, hooks.button(CUSTOMER, "lang:en", "English"))
        a.intake.submit(switch)
        await a.intake.drain()
        assert (await a.runtime.sessions.load(PERSON)).lang == "en"
        # B's next update of theirs starts from what A saved.
        assert (await b.runtime.sessions.load(PERSON)).lang == "en"


async def test_one_process_on_sqlite_is_not_shared(
    settings: Settings, graph: FakeGraphApi
) -> None:
    whatsapp = settings.model_copy(
        update={
            "whatsapp_token": SecretStr("test-token"),
            "whatsapp_phone_number_id": "100200300",
            "whatsapp_app_secret": SecretStr("test-app-secret"),
            "whatsapp_verify_token": SecretStr("test-verify-token"),
        }
    )
    async with opened(whatsapp, transport=graph.transport(), offline=True) as served:
        assert served.intake.worker is None
        (row,) = await store(served.db, graph, "help")
        served.intake.submit(row)
        await served.intake.drain()
        assert await states(served.db) == [("done", 1, None)]
