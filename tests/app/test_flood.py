"""The per-person rate cap: a flood is told once to slow down, then costs nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core import Contacts, Core
from app.flood import FloodGuard, Verdict
from app.handle import handle
from conversations.events import Address, ButtonPress, Command, Text
from storage.database import Database
from tests.app.recording import recording_core
from tests.app.test_handle import CUSTOMER, NOW, OPERATORS, channel, event

OTHER = Address("telegram", "5002")


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# --- the guard alone ----------------------------------------------------------------------------


def test_a_burst_is_handled_then_one_warning_then_silence() -> None:
    guard = FloodGuard(burst=3, rate=1.0, clock=Ticks())
    verdicts = [guard.admit(CUSTOMER) for _ in range(6)]
    assert verdicts == [Verdict.HANDLE] * 3 + [Verdict.WARN] + [Verdict.DROP] * 2


def test_the_bucket_refills_at_the_rate_and_a_new_flood_is_warned_again() -> None:
    ticks = Ticks()
    guard = FloodGuard(burst=2, rate=0.5, clock=ticks)
    assert [guard.admit(CUSTOMER) for _ in range(3)][-1] is Verdict.WARN
    ticks.now = 1.0  # half an event earned: still over the cap, already told
    assert guard.admit(CUSTOMER) is Verdict.DROP
    ticks.now = 3.0  # one event earned
    assert guard.admit(CUSTOMER) is Verdict.HANDLE
    assert guard.admit(CUSTOMER) is Verdict.WARN


def test_one_persons_flood_leaves_others_their_whole_burst() -> None:
    guard = FloodGuard(burst=2, rate=1.0, clock=Ticks())
    for _ in range(10):
        guard.admit(CUSTOMER)
    assert [guard.admit(OTHER) for _ in range(2)] == [Verdict.HANDLE] * 2


def test_people_whose_bucket_refilled_are_forgotten() -> None:
    ticks = Ticks()
    guard = FloodGuard(burst=1, rate=1.0, clock=ticks)
    guard._PRUNE_ABOVE = 3  # type: ignore[misc]
    for number in range(3):
        guard.admit(Address("telegram", str(number)))
    ticks.now = 5.0
    guard.admit(Address("telegram", "new"))
    assert guard.tracked == 1


@given(st.lists(st.floats(min_value=0, max_value=5), max_size=60))
def test_never_more_than_the_burst_plus_what_the_rate_earned(gaps: list[float]) -> None:
    ticks = Ticks()
    guard = FloodGuard(burst=4, rate=2.0, clock=ticks)
    handled = 0
    for gap in gaps:
        ticks.now += gap
        handled += guard.admit(CUSTOMER) is Verdict.HANDLE
    assert handled <= 4 + ticks.now * 2.0 + 1e-9


def test_a_guard_needs_a_positive_burst_and_rate() -> None:
    with pytest.raises(ValueError):
        FloodGuard(burst=0, rate=1.0)
    with pytest.raises(ValueError):
        FloodGuard(burst=1, rate=0)


# --- in the core --------------------------------------------------------------------------------


@pytest.fixture
async def core(db: Database) -> AsyncIterator[Core]:
    async with recording_core(
        db,
        contacts=Contacts(operators=OPERATORS),
        clock=lambda: NOW,
        flood=FloodGuard(burst=5, rate=0.001),
    ) as made:
        yield made


async def test_a_flood_gets_its_burst_answered_one_slow_down_and_then_silence(core: Core) -> None:
    for number in range(30):
        await handle(core, event(Text(f"hello {number}")))
    texts = channel(core).texts(CUSTOMER)
    assert len(texts) == 6  # five answers and one warning, for thirty messages
    assert "sending messages very fast" in texts[-1]
    assert not any("sending messages very fast" in text for text in texts[:-1])


async def test_someone_else_is_answered_in_the_middle_of_a_flood(core: Core) -> None:
    for number in range(30):
        await handle(core, event(Text(f"hello {number}")))
    await handle(core, event(Command("start"), person=OTHER))
    assert len(channel(core).texts(OTHER)) == 1


async def test_the_warning_speaks_the_language_chosen_in_the_chat(core: Core) -> None:
    session = await core.sessions.load(CUSTOMER)
    session.lang = "bn"
    await core.sessions.save(session)
    for number in range(7):
        await handle(core, event(Text(f"hello {number}")))
    warning = channel(core).texts(CUSTOMER)[-1]
    assert "sending messages very fast" not in warning  # the Bengali text, not the English


async def test_a_flood_of_presses_is_told_on_the_button_and_not_in_the_chat(core: Core) -> None:
    for number in range(8):
        await handle(core, event(ButtonPress("svc:plumbing"), receipt=f"q{number}"))
    acknowledged = channel(core).acknowledged
    toasts = [toast for _, toast in acknowledged if toast and "very fast" in toast]
    assert len(toasts) == 1
    assert len(acknowledged) == 6  # the dropped presses are not even acknowledged
    assert not any("very fast" in text for text in channel(core).texts(CUSTOMER))
