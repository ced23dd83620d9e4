"""Visit slots in Dhaka time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.slots import (
    DAY_PARTS,
    DHAKA,
    Slot,
    dhaka_date,
    dhaka_today,
    format_day,
    format_visit,
    open_slots,
    parse_slot_key,
    slot_date,
)

PARTS = [part.key for part in DAY_PARTS]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def dhaka(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=DHAKA)


@settings(max_examples=1000, deadline=None, database=None)
@given(instants)
def test_open_slots_drop_todays_parts_within_an_hour_of_their_end(now: datetime) -> None:
    slots = open_slots(now)
    local = now.astimezone(DHAKA)
    for part in DAY_PARTS:
        last_call = datetime.combine(local.date(), part.ends, DHAKA) - timedelta(hours=1)
        assert (Slot(0, part.key) in slots) == (local < last_call)
    for day in (1, 2):
        assert [s.part for s in slots if s.day == day] == PARTS
    assert slots == sorted(slots, key=lambda s: (s.day, PARTS.index(s.part)))
    assert all(parse_slot_key(slot.key) == slot for slot in slots)


@pytest.mark.parametrize(
    ("local", "today"),
    [
        (dhaka(24, 0, 1), PARTS),
        (dhaka(24, 10, 59), PARTS),
        (dhaka(24, 11, 0), ["afternoon", "evening"]),
        (dhaka(24, 15, 59), ["afternoon", "evening"]),
        (dhaka(24, 16, 0), ["evening"]),
        (dhaka(24, 18, 59), ["evening"]),
        (dhaka(24, 19, 0), []),
        (dhaka(24, 23, 59), []),
    ],
)
def test_todays_parts_at_the_edges(local: datetime, today: list[str]) -> None:
    for now in (local, local.astimezone(UTC), local.astimezone(timezone(timedelta(hours=-5)))):
        slots = open_slots(now)
        assert [s.part for s in slots if s.day == 0] == today
        assert len(slots) == len(today) + 6


def test_the_dhaka_day_not_the_utc_day_decides() -> None:
    # 20:30 UTC on the 23rd is 02:30 on the 24th in Dhaka: the whole of the 24th is open.
    now = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)
    assert dhaka_today(now) == date(2026, 11, 24)
    assert [s.part for s in open_slots(now) if s.day == 0] == PARTS
    assert slot_date(Slot(2, "evening"), now) == date(2026, 11, 26)


def test_dhaka_date_reads_naive_times_as_utc() -> None:
    assert dhaka_date(datetime(2026, 11, 24, 19, 0)) == date(2026, 11, 25)
    assert dhaka_date(datetime(2026, 11, 24, 17, 59, tzinfo=UTC)) == date(2026, 11, 24)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "-",
        "0",
        "0-",
        "-morning",
        "3-morning",
        "9-evening",
        "0-night",
        "a-morning",
        "-1-morning",
        "0 -morning",
        "0-Morning",
        "0_morning",
        "1-evening-x",
    ],
)
def test_parse_slot_key_rejects_junk(key: str) -> None:
    assert parse_slot_key(key) is None


def test_parse_slot_key_rejects_superscript_digits() -> None:
    assert parse_slot_key("²-morning") is None


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(0, 2), st.sampled_from(PARTS))
def test_slot_keys_round_trip(day: int, part: str) -> None:
    slot = Slot(day, part)
    assert parse_slot_key(slot.key) == slot


def test_format_visit_in_both_languages() -> None:
    english = format_visit(date(2026, 11, 25), "evening", "en")
    assert english == "Wed, 25 November, Evening (5–8pm)"
    bengali = format_visit(date(2026, 11, 25), "evening", "bn")
    assert "২৫" in bengali
    assert not any(char.isascii() and char.isdigit() for char in bengali)
    assert format_day(date(2026, 11, 25), "bn") in bengali


def test_format_visit_of_an_unknown_part_keeps_the_day() -> None:
    assert format_visit(date(2026, 11, 25), "night", "en").startswith("Wed, 25 November")
