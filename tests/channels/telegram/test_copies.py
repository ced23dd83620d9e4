"""The ledger behind the probe for copies: a probe only where every message of the bot is known."""

from __future__ import annotations

import pytest

from channels.telegram import copies
from channels.telegram.copies import Ledger

CHAT = 9_001_001
OTHER = 9_001_002
SUPERGROUP = -1_001_234_567_890
SHOWS = copies.content("New job", None)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def sent(ledger: Ledger, chat: int, message_id: int) -> None:
    ledger.landed(ledger.begin(chat), message_id)


def test_a_floor_is_given_only_after_an_own_send_is_in() -> None:
    clock = Clock()
    ledger = Ledger(settle=60.0, clock=clock)
    ledger.saw(CHAT, 5)  # came in: may be older than an earlier life's last messages
    assert ledger.mark(CHAT) is None
    clock.now = 10.0
    sent(ledger, OTHER, 6)  # an earlier life's request may still be carried out after this
    assert ledger.mark(CHAT) is None
    clock.now = 60.0
    sent(ledger, OTHER, 7)
    mark = ledger.mark(CHAT)
    assert mark is not None and mark.endswith(":7")
    assert ledger.mark(SUPERGROUP) is None  # a supergroup counts its own ids


def test_the_floor_and_known_ids_bound_the_candidates() -> None:
    ledger = Ledger(settle=0.0)
    sent(ledger, CHAT, 1)
    mark = ledger.mark(CHAT)
    assert mark is not None
    sent(ledger, OTHER, 3)
    ledger.saw(CHAT, 4)
    assert ledger.candidates(CHAT, mark, 7, SHOWS, skip={5}) == [2, 6]


def test_the_probe_limit_holds() -> None:
    ledger = Ledger(settle=0.0)
    sent(ledger, CHAT, 1)
    mark = ledger.mark(CHAT)
    assert mark is not None
    found = ledger.candidates(CHAT, mark, 1_000, SHOWS, skip=set())
    assert found == list(range(2, 2 + copies.PROBE_LIMIT))


def test_a_mark_of_another_life_is_refused() -> None:
    before, after = Ledger(settle=0.0), Ledger(settle=0.0)
    sent(before, CHAT, 1)
    mark = before.mark(CHAT)
    assert mark is not None
    sent(after, CHAT, 2)
    assert isinstance(after.candidates(CHAT, mark, 5, SHOWS, skip=set()), str)


def test_a_send_on_its_way_to_the_chat_stops_the_probe_there_only() -> None:
    ledger = Ledger(settle=0.0)
    sent(ledger, CHAT, 1)
    mark = ledger.mark(CHAT)
    assert mark is not None
    flying = ledger.begin(CHAT)
    assert isinstance(ledger.candidates(CHAT, mark, 5, SHOWS, skip=set()), str)
    other = Ledger(settle=0.0)
    sent(other, CHAT, 1)
    other_mark = other.mark(CHAT)
    assert other_mark is not None
    other.begin(OTHER)  # another chat's message: a probe here is "not found" there
    assert other.candidates(CHAT, other_mark, 5, SHOWS, skip=set()) == [2, 3, 4]
    ledger.landed(flying, 2)
    assert ledger.candidates(CHAT, mark, 5, SHOWS, skip=set()) == [3, 4]


def test_an_unsure_send_of_the_same_message_does_not_stop_the_probe() -> None:
    ledger = Ledger(settle=0.0)
    sent(ledger, CHAT, 1)
    mark = ledger.mark(CHAT)
    assert mark is not None
    ledger.unsure(ledger.begin(CHAT), SHOWS)  # the copy looked for
    ledger.unsure(ledger.begin(CHAT), None)  # a pin: no text
    assert isinstance(ledger.candidates(CHAT, mark, 5, SHOWS, skip=set()), str)
    sent(ledger, OTHER, 4)  # asked after both were over: both are below 4
    assert isinstance(ledger.candidates(CHAT, mark, 5, SHOWS, skip=set()), str)  # 2, 3: above 1
    later = ledger.mark(CHAT)
    assert later is not None and later.endswith(":4")
    assert ledger.candidates(CHAT, later, 6, SHOWS, skip=set()) == [5]


def test_what_was_forgotten_stops_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copies, "KEPT_IDS", 3)
    ledger = Ledger(settle=0.0)
    sent(ledger, CHAT, 1)
    mark = ledger.mark(CHAT)
    assert mark is not None
    for message_id in (2, 3, 4):  # 1 is forgotten: it is the floor itself
        sent(ledger, OTHER, message_id)
    assert ledger.candidates(CHAT, mark, 6, SHOWS, skip=set()) == [5]
    sent(ledger, OTHER, 6)  # 2 is forgotten: a probe could take it for a copy
    assert isinstance(ledger.candidates(CHAT, mark, 8, SHOWS, skip=set()), str)


def test_too_many_unsure_sends_start_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copies, "KEPT_ATTEMPTS", 2)
    ledger = Ledger(settle=0.0)
    sent(ledger, CHAT, 1)
    mark = ledger.mark(CHAT)
    assert mark is not None
    for _ in range(3):
        ledger.unsure(ledger.begin(OTHER), None)  # the third forgets the first, unbounded
    assert isinstance(ledger.candidates(CHAT, mark, 5, SHOWS, skip=set()), str)
    assert ledger.mark(CHAT) is None  # until a send after this is in
    sent(ledger, CHAT, 9)
    assert ledger.mark(CHAT) is not None
