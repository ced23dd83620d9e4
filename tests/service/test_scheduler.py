"""Scheduler and LocalLocks: one person's events in order, different people's at once, no leak.

``service.scheduler.Scheduler`` queues each person's events (a shared slot is held only while
one is handled); ``app.locks.LocalLocks`` is the per-person lock every event is handled under.
Each property is checked on both, through the same small interface (:class:`Runner`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

import pytest
from telegram import Update

from app.locks import LocalLocks
from channels.telegram.fake_api import FakeBotApi
from channels.telegram.inbound import address, to_inbound
from conversations.events import Inbound
from service.scheduler import Scheduler
from tests.conftest import Bot

ALICE = 1_001
BOB = 1_002
WAIT = 5.0  # upper bound of any wait here; the happy path takes milliseconds

Job = Callable[[], Awaitable[None]]


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


def text(api: FakeBotApi, user_id: int, body: str = "hello") -> Update:
    return Update.de_json(api.text_update(user_id, body, "User", "en"), None)


def press(api: FakeBotApi, user_id: int, data: str = "x") -> Update:
    return Update.de_json(api.callback_update(user_id, data, 1, "User", "en"), None)


def inbound(update: Update) -> Inbound:
    event = to_inbound(update)
    assert event is not None
    return event


def said(api: FakeBotApi, user_id: int, body: str = "hello") -> Inbound:
    return inbound(text(api, user_id, body))


class Recorder:
    """Coroutines that log when they start and end, and track how many overlap."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.running: dict[Any, int] = {}
        self.peak: dict[Any, int] = {}
        self.in_hand = 0
        self.most_in_hand = 0

    async def job(self, key: Any, label: Any, delay: float) -> None:
        self.running[key] = self.running.get(key, 0) + 1
        self.peak[key] = max(self.peak.get(key, 0), self.running[key])
        self.in_hand += 1
        self.most_in_hand = max(self.most_in_hand, self.in_hand)
        self.events.append(("start", label))
        try:
            await asyncio.sleep(delay)
        finally:
            self.events.append(("end", label))
            self.running[key] -= 1
            self.in_hand -= 1

    def starts(self) -> list[Any]:
        return [label for kind, label in self.events if kind == "start"]


class Runner(Protocol):
    """Runs a job for an event, never two of the same person at once."""

    def submit(self, event: Inbound, job: Job) -> None: ...

    async def drain(self) -> None: ...

    @property
    def active(self) -> int: ...

    def leftovers(self) -> dict[Any, Any]: ...


class ViaScheduler:
    """The scheduler, its handler running the job each event was submitted with."""

    def __init__(self, concurrency: int) -> None:
        self.scheduler = Scheduler(self._handle, concurrency=concurrency)
        # Keyed by the event's identity; the event is kept so the key stays its own.
        self._jobs: dict[int, tuple[Inbound, Job]] = {}

    async def _handle(self, event: Inbound) -> None:
        _, job = self._jobs.pop(id(event))
        await job()

    def submit(self, event: Inbound, job: Job) -> None:
        self._jobs[id(event)] = (event, job)
        self.scheduler.submit(event)

    async def drain(self) -> None:
        await asyncio.wait_for(self.scheduler.drain(), WAIT)

    @property
    def active(self) -> int:
        return self.scheduler.active

    def leftovers(self) -> dict[Any, Any]:
        # Queues of people, tasks working through them, jobs not run: all should be gone.
        tasks = dict.fromkeys(self.scheduler._tasks)
        return {**self.scheduler._queues, **tasks, **self._jobs}


class ViaLocks:
    """A task per event, each holding the person's lock while its job runs (no slots here)."""

    def __init__(self, concurrency: int) -> None:
        self.locks = LocalLocks()
        self._tasks: list[asyncio.Task[None]] = []

    async def _run(self, event: Inbound, job: Job) -> None:
        async with self.locks(event.sender.person):
            await job()

    def submit(self, event: Inbound, job: Job) -> None:
        self._tasks.append(asyncio.create_task(self._run(event, job)))

    async def drain(self) -> None:
        await asyncio.wait_for(asyncio.gather(*self._tasks), WAIT)
        self._tasks.clear()

    @property
    def active(self) -> int:
        return self.locks.active

    def leftovers(self) -> dict[Any, Any]:
        return dict(self.locks._locks)


RUNNERS = [pytest.param(ViaScheduler, id="scheduler"), pytest.param(ViaLocks, id="locks")]
runners = pytest.mark.parametrize("make", RUNNERS)


def test_events_are_keyed_by_the_person_of_messages_and_button_presses(
    api: FakeBotApi,
) -> None:
    assert inbound(text(api, ALICE)).sender.person == address(ALICE)
    assert inbound(press(api, BOB)).sender.person == address(BOB)
    # An update of no one is no event: nobody's queue or lock is involved.
    assert to_inbound(Update(update_id=1)) is None


@runners
async def test_one_persons_events_run_strictly_in_order(
    api: FakeBotApi, make: Callable[[int], Runner]
) -> None:
    runner = make(64)
    recorder = Recorder()
    # The first events are the slowest: without the per-person order they would finish last.
    delays = [0.05, 0.04, 0.03, 0.02, 0.01, 0.0, 0.02, 0.0]
    events = [
        inbound(text(api, ALICE, str(i)) if i % 2 else press(api, ALICE, str(i)))
        for i in range(len(delays))
    ]
    for i, (event, delay) in enumerate(zip(events, delays, strict=True)):
        runner.submit(event, partial(recorder.job, ALICE, i, delay))
    await asyncio.sleep(0)
    assert runner.active == 1
    await runner.drain()

    expected: list[tuple[str, Any]] = []
    for i in range(len(delays)):
        expected += [("start", i), ("end", i)]
    assert recorder.events == expected
    assert recorder.peak[ALICE] == 1
    assert runner.active == 0


@runners
async def test_order_holds_for_events_submitted_from_many_tasks(
    api: FakeBotApi, make: Callable[[int], Runner]
) -> None:
    runner = make(256)
    recorder = Recorder()
    users = [ALICE, BOB, 1_003]

    async def submit(event: Inbound, job: Job) -> None:
        runner.submit(event, job)

    tasks = []
    for i in range(30):
        user = users[i % len(users)]
        job = partial(recorder.job, user, (user, i), 0.001 * (i % 4))
        tasks.append(asyncio.create_task(submit(said(api, user, str(i)), job)))
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    await runner.drain()
    for user in users:
        mine = [label for label in recorder.starts() if label[0] == user]
        assert mine == sorted(mine, key=lambda label: label[1])
        assert recorder.peak[user] == 1
    assert runner.active == 0


@runners
async def test_different_people_run_concurrently(
    api: FakeBotApi, make: Callable[[int], Runner]
) -> None:
    runner = make(256)
    users = list(range(2_000, 2_050))
    started = 0
    all_started = asyncio.Event()
    release = asyncio.Event()

    async def rendezvous() -> None:
        # Each person's event waits for every other person's to start: if they ran one
        # after another, this would time out.
        nonlocal started
        started += 1
        if started == len(users):
            all_started.set()
        await asyncio.wait_for(all_started.wait(), WAIT)
        await asyncio.wait_for(release.wait(), WAIT)

    for user in users:
        runner.submit(said(api, user), rendezvous)
    await asyncio.wait_for(all_started.wait(), WAIT)
    assert runner.active == len(users)  # one queue (one lock) per person in flight
    release.set()
    await runner.drain()
    assert started == len(users)
    assert runner.active == 0


@runners
async def test_a_slow_person_does_not_hold_up_another(
    api: FakeBotApi, make: Callable[[int], Runner]
) -> None:
    runner = make(256)
    release = asyncio.Event()
    bob_done = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await asyncio.wait_for(release.wait(), WAIT)
        done.append("alice")

    async def fast() -> None:
        done.append("bob")
        bob_done.set()

    runner.submit(said(api, ALICE), slow)
    runner.submit(said(api, BOB), fast)
    await asyncio.wait_for(bob_done.wait(), WAIT)
    assert done == ["bob"]
    assert runner.active == 1  # Alice is still in flight
    release.set()
    await runner.drain()
    assert done == ["bob", "alice"]
    assert runner.active == 0


@runners
async def test_nothing_is_kept_per_person_after_many_people(
    api: FakeBotApi, make: Callable[[int], Runner]
) -> None:
    runner = make(128)
    recorder = Recorder()
    for batch in range(10):
        for n in range(500):
            runner.submit(said(api, 10_000 + batch * 500 + n), partial(recorder.job, "any", n, 0))
        await runner.drain()
        assert runner.active == 0
    assert runner.leftovers() == {}
    assert len(recorder.starts()) == 5_000
    if isinstance(runner, ViaScheduler):
        assert recorder.most_in_hand <= 128  # the shared slots


async def test_a_failing_or_cancelled_holder_releases_the_persons_lock() -> None:
    locks = LocalLocks()
    person = address(ALICE)
    ran: list[str] = []

    with pytest.raises(RuntimeError):
        async with locks(person):
            raise RuntimeError("flow failed")
    assert locks.active == 0
    async with locks(person):
        ran.append("after failure")

    # An event cancelled while it waits for the person's lock leaves no trace either.
    blocker = asyncio.Event()

    async def hold() -> None:
        async with locks(person):
            await asyncio.wait_for(blocker.wait(), WAIT)

    async def queued() -> None:
        async with locks(person):
            ran.append("never")

    first = asyncio.create_task(hold())
    await asyncio.sleep(0)
    second = asyncio.create_task(queued())
    await asyncio.sleep(0)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    blocker.set()
    await asyncio.wait_for(first, WAIT)
    assert locks.active == 0
    async with locks(person):
        ran.append("after cancel")
    assert ran == ["after failure", "after cancel"]
    assert locks.active == 0
    assert locks._locks == {}


async def test_a_failing_event_or_a_close_releases_the_person_in_the_scheduler(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    # One slot: a failure or a cancellation that kept it would stall everything after it.
    runner = ViaScheduler(1)
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("flow failed")

    async def ok(label: str) -> None:
        ran.append(label)

    with caplog.at_level(logging.ERROR, logger="service.scheduler"):
        runner.submit(said(api, ALICE), boom)
        await runner.drain()
    # The scheduler has no caller to raise to: the failure is logged, with its traceback.
    [failure] = [r for r in caplog.records if r.name == "service.scheduler"]
    assert failure.getMessage() == "an event failed" and failure.exc_info is not None
    assert runner.active == 0
    runner.submit(said(api, ALICE), partial(ok, "after failure"))
    await runner.drain()

    # Events still queued when the scheduler closes are dropped and leave no trace either.
    blocker = asyncio.Event()
    holding = asyncio.Event()

    async def hold() -> None:
        holding.set()
        await asyncio.wait_for(blocker.wait(), WAIT)

    runner.submit(said(api, ALICE), hold)
    runner.submit(said(api, ALICE), partial(ok, "never"))
    await asyncio.wait_for(holding.wait(), WAIT)
    assert runner.active == 1
    await asyncio.wait_for(runner.scheduler.close(), WAIT)
    assert runner.active == 0
    assert runner.scheduler._queues == {}
    runner.submit(said(api, ALICE), partial(ok, "after cancel"))
    await runner.drain()
    assert ran == ["after failure", "after cancel"]
    assert runner.active == 0


async def test_updates_of_no_one_are_not_queued(bot: Bot) -> None:
    """An update of no person is no event: nothing is queued, nothing waits on it."""
    runtime = bot.runtime
    calls = len(bot.api.calls)
    anonymous = Update(update_id=1)
    runtime.submit(anonymous)
    runtime.submit(anonymous)
    assert runtime.scheduler.active == 0
    await asyncio.wait_for(runtime.scheduler.drain(), WAIT)
    assert runtime.scheduler.active == 0
    assert bot.api.calls[calls:] == []  # no answer, no apology


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_many_queued_events_of_one_person_keep_no_one_else_waiting(
    api: FakeBotApi, concurrency: int
) -> None:
    """A person's own queue holds no slot: Bob goes next, not after all 50 of Alice's."""
    runner = ViaScheduler(concurrency)
    recorder = Recorder()
    for i in range(50):
        runner.submit(said(api, ALICE, str(i)), partial(recorder.job, ALICE, (ALICE, i), 0.001))
    runner.submit(said(api, BOB), partial(recorder.job, BOB, (BOB, 0), 0.001))
    await runner.drain()
    starts = recorder.starts()
    # At most Alice's event in hand is handled before Bob's.
    assert starts[:2] == [(ALICE, 0), (BOB, 0)]
    assert [label for label in starts if label[0] == ALICE] == [(ALICE, i) for i in range(50)]
    assert recorder.peak[ALICE] == 1
    assert recorder.most_in_hand <= concurrency
    assert runner.active == 0


async def test_a_whole_booking_submitted_at_once_is_answered_in_order(bot: Bot) -> None:
    """The real runtime: one person's updates all queued together behave as if sequential."""
    runtime, api = bot.runtime, bot.api
    await bot.add_technician(9_001)
    user, lang = 3_001, "en"
    raw = [
        api.text_update(user, "/start", "Rahim", lang),
        api.callback_update(user, "go:book", 1, "Rahim", lang),
        api.callback_update(user, "bk:consent:yes", 2, "Rahim", lang),
        api.callback_update(user, "bk:service:plumbing", 3, "Rahim", lang),
        api.text_update(user, "Tap is leaking", "Rahim", lang),
        api.callback_update(user, "bk:area:mirpur", 4, "Rahim", lang),
        api.text_update(user, "House 1, Road 2, Mirpur", "Rahim", lang),
        api.text_update(user, "01712345678", "Rahim", lang),
        api.text_update(user, "Rahim", "Rahim", lang),
    ]
    assert isinstance(runtime.scheduler, Scheduler)
    assert isinstance(runtime.core.lock, LocalLocks)
    for data in raw:
        runtime.submit(Update.de_json(data, runtime.bot))
    assert runtime.scheduler.active == 1  # all nine in flight together, in one queue
    await asyncio.wait_for(runtime.scheduler.drain(), WAIT * 2)
    await runtime.settle()
    assert runtime.scheduler.active == 0
    assert runtime.core.lock.active == 0
    texts = api.texts(user)
    # Every step answered once and in order: no "earlier message" hints, ends at the time step.
    assert not any("earlier message" in t or "went wrong" in t for t in texts)
    markers = [
        "Welcome to Mistri Services",
        "Before we start",
        "Which service do you need?",
        "What is the problem?",
        "Which area of Dhaka",
        "What is the full address?",
        "Your mobile number?",
        "What name should the technician ask for?",
        "When should the technician come?",
    ]
    positions = [next(i for i, t in enumerate(texts) if marker in t) for marker in markers]
    assert positions == sorted(positions)
    assert all(call.status == 200 for call in api.calls)
