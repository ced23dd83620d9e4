"""Visit slots in Dhaka time: the parts of the day, defined once, with their hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.digits import to_latin_digits
from conversations.slots import (
    DAY_PARTS,
    DAY_PARTS_BY_KEY,
    DHAKA,
    PER_ROW,
    Slot,
    dhaka_date,
    dhaka_today,
    format_day,
    format_hours,
    format_visit,
    open_slots,
    parse_slot_key,
    part_label,
    slot_date,
    slot_label,
    slot_rows,
    visit_line,
)

PARTS = [part.key for part in DAY_PARTS]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def dhaka(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=DHAKA)


@settings(max_examples=1000, deadline=None, database=None)
@given(instants)
def test_open_slots_drop_todays_parts_with_less_than_an_hour_left(now: datetime) -> None:
    slots = open_slots(now)
    local = now.astimezone(DHAKA)
    for part in DAY_PARTS:
        left = datetime.combine(local.date(), part.ends, DHAKA) - local
        assert (Slot(0, part.key) in slots) == (left >= timedelta(hours=1))
    for day in (1, 2):
        assert [s.part for s in slots if s.day == day] == PARTS
    assert slots == sorted(slots, key=lambda s: (s.day, PARTS.index(s.part)))
    assert all(parse_slot_key(slot.key) == slot for slot in slots)


@settings(max_examples=1000, deadline=None, database=None)
@given(instants)
def test_every_slot_offered_today_has_at_least_an_hour_left(now: datetime) -> None:
    local = now.astimezone(DHAKA)
    for slot in open_slots(now):
        if slot.day == 0:
            ends = datetime.combine(local.date(), DAY_PARTS_BY_KEY[slot.part].ends, DHAKA)
            assert ends - local >= timedelta(hours=1)


@settings(max_examples=300, deadline=None, database=None)
@given(instants, st.sampled_from(["en", "bn"]))
def test_buttons_are_the_open_slots_a_day_at_a_time_with_their_hours(
    now: datetime, lang: str
) -> None:
    rows = slot_rows(now)
    assert [slot for row in rows for slot in row] == open_slots(now)
    assert all(1 <= len(row) <= PER_ROW and len({s.day for s in row}) == 1 for row in rows)
    for row in rows:
        for slot in row:
            label = slot_label(slot, lang)
            # The label names the part as every other text does, hours included.
            assert label.endswith(part_label(slot.part, lang))
            assert format_hours(DAY_PARTS_BY_KEY[slot.part], lang) in label


@pytest.mark.parametrize(
    ("local", "today"),
    [
        (dhaka(24, 0, 1), PARTS),
        (dhaka(24, 11, 0), PARTS),  # an hour of the morning is left
        (dhaka(24, 11, 1), ["midday", "afternoon", "evening"]),
        (dhaka(24, 14, 0), ["midday", "afternoon", "evening"]),
        (dhaka(24, 14, 1), ["afternoon", "evening"]),
        (dhaka(24, 17, 0), ["afternoon", "evening"]),
        (dhaka(24, 17, 1), ["evening"]),
        (dhaka(24, 18, 35), ["evening"]),  # 2 h 25 min of the evening (18–21) left
        (dhaka(24, 20, 0), ["evening"]),
        (dhaka(24, 20, 1), []),
        (dhaka(24, 23, 59), []),
    ],
)
def test_todays_parts_at_the_edges(local: datetime, today: list[str]) -> None:
    for now in (local, local.astimezone(UTC), local.astimezone(timezone(timedelta(hours=-5)))):
        slots = open_slots(now)
        assert [s.part for s in slots if s.day == 0] == today
        assert len(slots) == len(today) + 2 * len(PARTS)


def test_the_parts_of_the_day_are_what_a_dhaka_customer_expects() -> None:
    hours = [(part.key, part.starts.hour, part.ends.hour) for part in DAY_PARTS]
    assert hours == [
        ("morning", 8, 12),
        ("midday", 12, 15),
        ("afternoon", 15, 18),
        ("evening", 18, 21),
    ]
    # One after another, no gap and no overlap.
    assert all(a.ends == b.starts for a, b in pairwise(DAY_PARTS))


@pytest.mark.parametrize(
    ("part", "english", "bengali"),
    [
        ("morning", "Morning (8 am–12 pm)", "সকাল (৮টা–১২টা)"),
        ("midday", "Midday (12–3 pm)", "দুপুর (১২টা–৩টা)"),
        ("afternoon", "Afternoon (3–6 pm)", "বিকেল (৩টা–৬টা)"),
        ("evening", "Evening (6–9 pm)", "সন্ধ্যা (৬টা–৯টা)"),
    ],
)
def test_each_part_is_named_with_its_hours(part: str, english: str, bengali: str) -> None:
    assert part_label(part, "en") == english
    assert part_label(part, "bn") == bengali


def test_every_part_has_its_own_bengali_word() -> None:
    words = [part_label(part.key, "bn").split(" (")[0] for part in DAY_PARTS]
    assert len(set(words)) == len(DAY_PARTS)


def test_stored_keys_of_before_stay_readable() -> None:
    # Orders stored before the four parts hold morning/afternoon/evening: still named.
    for key in ("morning", "afternoon", "evening"):
        assert format_visit(date(2026, 11, 25), key, "en").startswith("Wed, 25 November, ")
        assert "(" in format_visit(date(2026, 11, 25), key, "bn")


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
    assert english == "Wed, 25 November, Evening (6–9 pm)"
    bengali = format_visit(date(2026, 11, 25), "evening", "bn")
    assert "২৫" in bengali and "সন্ধ্যা (৬টা–৯টা)" in bengali
    assert not any(char.isascii() and char.isdigit() for char in bengali)
    assert format_day(date(2026, 11, 25), "bn") in bengali


def test_the_visit_is_labelled_as_the_visit() -> None:
    english = visit_line(date(2026, 11, 25), "afternoon", "en")
    assert english == "Visit: Wed, 25 November, Afternoon (3–6 pm)"
    bengali = visit_line(date(2026, 11, 25), "afternoon", "bn")
    assert bengali.startswith("আসার সময়: ") and "বিকেল (৩টা–৬টা)" in bengali


def test_format_visit_of_an_unknown_part_keeps_the_day() -> None:
    assert format_visit(date(2026, 11, 25), "night", "en") == "Wed, 25 November"


@pytest.mark.parametrize(("lang", "tomorrow"), [("en", "Tomorrow"), ("bn", "আগামীকাল")])
def test_slot_label_is_the_day_then_the_part(lang: str, tomorrow: str) -> None:
    label = slot_label(Slot(1, "morning"), lang)
    assert label == f"{tomorrow} · {part_label('morning', lang)}"
    assert to_latin_digits(label).count("8") == 1
