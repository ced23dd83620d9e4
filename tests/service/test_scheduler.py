"""PerUserUpdateProcessor: one user's updates in order, different users' at once, no leak."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update

from channels.telegram.fake_api import FakeBotApi
from bot.processor import PerUserUpdateProcessor, user_key
from tests.conftest import Bot

ALICE = 1_001
BOB = 1_002
WAIT = 5.0  # upper bound of any wait here; the happy path takes milliseconds


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


def text(api: FakeBotApi, user_id: int, body: str = "hello") -> Update:
    return Update.de_json(api.text_update(user_id, body, "User", "en"), None)


def press(api: FakeBotApi, user_id: int, data: str = "x") -> Update:
    return Update.de_json(api.callback_update(user_id, data, 1, "User", "en"), None)


class Recorder:
    """Coroutines that log when they start and end, and track how many overlap."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.running: dict[Any, int] = {}
        self.peak: dict[Any, int] = {}

    async def job(self, key: Any, label: Any, delay: float) -> None:
        self.running[key] = self.running.get(key, 0) + 1
        self.peak[key] = max(self.peak.get(key, 0), self.running[key])
        self.events.append(("start", label))
        try:
            await asyncio.sleep(delay)
        finally:
            self.events.append(("end", label))
            self.running[key] -= 1

    def starts(self) -> list[Any]:
        return [label for kind, label in self.events if kind == "start"]


def test_user_key_reads_messages_and_button_presses(api: FakeBotApi) -> None:
    assert user_key(text(api, ALICE)) == ALICE
    assert user_key(press(api, BOB)) == BOB
    assert user_key(object()) is None
    assert user_key(Update(update_id=1)) is None


async def test_one_users_updates_run_strictly_in_order(api: FakeBotApi) -> None:
    processor = PerUserUpdateProcessor(64)
    recorder = Recorder()
    # The first updates are the slowest: without the per-user lock they would finish last.
    delays = [0.05, 0.04, 0.03, 0.02, 0.01, 0.0, 0.02, 0.0]
    updates = [
        text(api, ALICE, str(i)) if i % 2 else press(api, ALICE, str(i))
        for i in range(len(delays))
    ]
    tasks = [
        asyncio.create_task(
            processor.process_update(update, recorder.job(ALICE, i, delay)),
        )
        for i, (update, delay) in enumerate(zip(updates, delays, strict=True))
    ]
    await asyncio.sleep(0)
    assert processor.active_users == 1
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)

    expected: list[tuple[str, Any]] = []
    for i in range(len(delays)):
        expected += [("start", i), ("end", i)]
    assert recorder.events == expected
    assert recorder.peak[ALICE] == 1
    assert processor.active_users == 0


async def test_order_holds_for_updates_submitted_from_many_tasks(api: FakeBotApi) -> None:
    processor = PerUserUpdateProcessor(256)
    recorder = Recorder()
    users = [ALICE, BOB, 1_003]
    tasks = []
    for i in range(30):
        user = users[i % len(users)]
        update = text(api, user, str(i))
        tasks.append(
            asyncio.create_task(
                processor.process_update(update, recorder.job(user, (user, i), 0.001 * (i % 4)))
            )
        )
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    for user in users:
        mine = [label for label in recorder.starts() if label[0] == user]
        assert mine == sorted(mine, key=lambda label: label[1])
        assert recorder.peak[user] == 1
    assert processor.active_users == 0


async def test_different_users_run_concurrently(api: FakeBotApi) -> None:
    processor = PerUserUpdateProcessor(256)
    users = list(range(2_000, 2_050))
    started = 0
    all_started = asyncio.Event()
    release = asyncio.Event()

    async def rendezvous() -> None:
        # Each user's update waits for every other user's to start: if the processor ran
        # different users one after another, this would time out.
        nonlocal started
        started += 1
        if started == len(users):
            all_started.set()
        await asyncio.wait_for(all_started.wait(), WAIT)
        await asyncio.wait_for(release.wait(), WAIT)

    tasks = [
        asyncio.create_task(processor.process_update(text(api, user), rendezvous()))
        for user in users
    ]
    await asyncio.wait_for(all_started.wait(), WAIT)
    assert processor.active_users == len(users)  # one lock per user in flight
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert started == len(users)
    assert processor.active_users == 0


async def test_a_slow_user_does_not_hold_up_another(api: FakeBotApi) -> None:
    processor = PerUserUpdateProcessor(256)
    release = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await asyncio.wait_for(release.wait(), WAIT)
        done.append("alice")

    async def fast() -> None:
        done.append("bob")

    alice = asyncio.create_task(processor.process_update(text(api, ALICE), slow()))
    bob = asyncio.create_task(processor.process_update(text(api, BOB), fast()))
    await asyncio.wait_for(bob, WAIT)
    assert done == ["bob"]
    assert processor.active_users == 1  # Alice is still in flight
    release.set()
    await asyncio.wait_for(alice, WAIT)
    assert done == ["bob", "alice"]
    assert processor.active_users == 0


async def test_lock_table_is_empty_after_many_users(api: FakeBotApi) -> None:
    processor = PerUserUpdateProcessor(128)
    recorder = Recorder()
    for batch in range(10):
        updates = [text(api, 10_000 + batch * 500 + n) for n in range(500)]
        await asyncio.wait_for(
            asyncio.gather(
                *(
                    processor.process_update(update, recorder.job("any", n, 0))
                    for n, update in enumerate(updates)
                )
            ),
            WAIT,
        )
        assert processor.active_users == 0
    assert processor._locks == {}
    assert len(recorder.starts()) == 5_000


async def test_failing_or_cancelled_updates_release_their_user(api: FakeBotApi) -> None:
    processor = PerUserUpdateProcessor(16)
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("flow failed")

    async def ok(label: str) -> None:
        ran.append(label)

    with pytest.raises(RuntimeError):
        await processor.process_update(text(api, ALICE), boom())
    assert processor.active_users == 0
    await processor.process_update(text(api, ALICE), ok("after failure"))

    # A queued update cancelled while it waits for the user's lock leaves no trace either.
    blocker = asyncio.Event()

    async def hold() -> None:
        await asyncio.wait_for(blocker.wait(), WAIT)

    first = asyncio.create_task(processor.process_update(text(api, ALICE), hold()))
    await asyncio.sleep(0)
    waiting = ok("never")
    second = asyncio.create_task(processor.process_update(text(api, ALICE), waiting))
    await asyncio.sleep(0)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    waiting.close()
    blocker.set()
    await asyncio.wait_for(first, WAIT)
    assert processor.active_users == 0
    await processor.process_update(text(api, ALICE), ok("after cancel"))
    assert ran == ["after failure", "after cancel"]
    assert processor.active_users == 0


async def test_updates_of_no_user_are_not_serialised() -> None:
    processor = PerUserUpdateProcessor(16)
    both = asyncio.Event()
    count = 0

    async def meet() -> None:
        nonlocal count
        count += 1
        if count == 2:
            both.set()
        await asyncio.wait_for(both.wait(), WAIT)

    anonymous = Update(update_id=1)
    await asyncio.wait_for(
        asyncio.gather(
            processor.process_update(anonymous, meet()),
            processor.process_update(anonymous, meet()),
        ),
        WAIT,
    )
    assert processor.active_users == 0


async def test_a_whole_booking_submitted_at_once_is_answered_in_order(bot: Bot) -> None:
    """The real Application: one user's updates all in flight together behave as if sequential."""
    application, api = bot.application, bot.api
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
    processor = application.update_processor
    assert isinstance(processor, PerUserUpdateProcessor)
    updates = [Update.de_json(data, application.bot) for data in raw]
    await asyncio.wait_for(
        asyncio.gather(
            *(
                processor.process_update(update, application.process_update(update))
                for update in updates
            )
        ),
        WAIT * 2,
    )
    assert processor.active_users == 0
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
