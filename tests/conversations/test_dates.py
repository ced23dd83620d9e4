"""Dates and times read naturally in both languages, on Dhaka's clock, for any value."""

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from conversations.dates import clock, in_dhaka, iso_day, long_date, moment, visit_day
from conversations.digits import to_latin_digits
from conversations.slots import DAY_PARTS

BENGALI_MONTHS = (
    "জানুয়ারী",
    "ফেব্রুয়ারী",
    "মার্চ",
    "এপ্রিল",
    "মে",
    "জুন",
    "জুলাই",
    "আগস্ট",
    "সেপ্টেম্বর",
    "অক্টোবর",
    "নভেম্বর",
    "ডিসেম্বর",
)
ENGLISH_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
BENGALI_PERIODS = ("রাত", "ভোর", "সকাল", "দুপুর", "বিকেল", "সন্ধ্যা")
#: The glossary's word for each part of the day the visit slots offer.
PART_WORDS = {"morning": "সকাল", "midday": "দুপুর", "afternoon": "বিকেল", "evening": "সন্ধ্যা"}
LATIN_DIGIT = re.compile(r"[0-9]")
BENGALI_DIGIT = re.compile(r"[০-৯]")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}|[0-9০-৯]{4}-[0-9০-৯]{2}")

CONSENT = datetime(2025, 12, 24, 9, 35, tzinfo=UTC)  # 15:35 in Dhaka
#: Values whose Dhaka time falls outside what ``datetime`` can hold.
EDGES = (datetime.max, datetime.min.replace(tzinfo=timezone(timedelta(hours=23))))

any_moment = st.datetimes(
    timezones=st.none()
    | st.timezones()
    | st.builds(
        lambda minutes: timezone(timedelta(minutes=minutes)),
        st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    )
)


def test_the_consent_time_reads_as_a_date_and_a_time_of_day() -> None:
    assert moment(CONSENT, "bn") == "২৪ ডিসেম্বর ২০২৫, বিকেল ৩:৩৫"
    assert moment(CONSENT, "en") == "24 December 2025, 3:35 PM"


def test_a_naive_time_is_taken_as_utc() -> None:
    assert moment(CONSENT.replace(tzinfo=None), "en") == "24 December 2025, 3:35 PM"
    assert in_dhaka(datetime(2025, 12, 31, 20, 0)).date() == date(2026, 1, 1)


def test_a_visit_day_names_the_weekday() -> None:
    assert visit_day(date(2026, 11, 24), "bn") == "মঙ্গলবার, ২৪ নভেম্বর"
    assert visit_day(date(2026, 11, 24), "en") == "Tue, 24 November"


def test_a_long_date_puts_the_day_first_in_both_languages() -> None:
    assert long_date(date(2026, 1, 5), "bn") == "৫ জানুয়ারী ২০২৬"
    assert long_date(date(2026, 1, 5), "en") == "5 January 2026"


def test_a_time_of_day_says_the_part_of_the_day_in_bengali_and_am_pm_in_english() -> None:
    assert [clock(time(h, m), "bn") for h, m in ((9, 0), (12, 30), (18, 5), (0, 0))] == [
        "সকাল ৯টা",
        "দুপুর ১২:৩০",
        "সন্ধ্যা ৬:০৫",
        "রাত ১২টা",
    ]
    assert [clock(time(h, m), "en") for h, m in ((9, 0), (12, 30), (18, 5))] == [
        "9 AM",
        "12:30 PM",
        "6:05 PM",
    ]
    assert (clock(None, "bn"), clock(None, "en")) == ("রাত ১২টা", "midnight")


def test_a_datetime_is_shown_on_dhakas_clock() -> None:
    assert clock(CONSENT, "en") == "3:35 PM"


def test_a_policy_version_that_is_a_date_reads_as_one() -> None:
    assert iso_day("2025-12-24", "bn") == "২৪ ডিসেম্বর ২০২৫"
    assert iso_day("2025-12-24", "en") == "24 December 2025"
    assert iso_day("v2", "bn") == "v২"


@settings(max_examples=300)
@given(any_moment)
@example(EDGES[0])
@example(EDGES[1])
def test_any_moment_reads_naturally_in_bengali(at: datetime) -> None:
    text = moment(at, "bn")
    assert not LATIN_DIGIT.search(text)
    assert not ISO.search(text)
    assert any(month in text for month in BENGALI_MONTHS)
    assert any(f", {word} " in text for word in BENGALI_PERIODS)


@settings(max_examples=300)
@given(any_moment)
@example(EDGES[0])
@example(EDGES[1])
def test_any_moment_reads_naturally_in_english(at: datetime) -> None:
    text = moment(at, "en")
    assert not BENGALI_DIGIT.search(text)
    assert not ISO.search(text)
    assert any(month in text for month in ENGLISH_MONTHS)
    assert text.endswith((" AM", " PM"))


@given(st.dates(), st.sampled_from(("bn", "en")))
def test_any_day_reads_with_the_languages_digits_and_month(day: date, lang: str) -> None:
    for text in (visit_day(day, lang), long_date(day, lang)):
        digits, months = (
            (BENGALI_DIGIT, BENGALI_MONTHS) if lang == "bn" else (LATIN_DIGIT, ENGLISH_MONTHS)
        )
        assert digits.search(text)
        assert (LATIN_DIGIT if lang == "bn" else BENGALI_DIGIT).search(text) is None
        assert any(month in text for month in months)


@given(st.times())
def test_bengali_names_each_hour_with_the_slots_words(wall: time) -> None:
    # One word per part of the day: a time inside a visit slot is called what the slot is.
    text = clock(wall, "bn")
    for part in DAY_PARTS:
        if part.starts <= wall < part.ends:
            assert text.startswith(PART_WORDS[part.key] + " ")
    assert text.split(" ")[0] in BENGALI_PERIODS
    assert "বিকাল" not in text and "রাত্রি" not in text


@given(st.times(), st.sampled_from(("bn", "en")))
def test_a_clock_shows_the_hour_on_a_twelve_hour_dial(wall: time, lang: str) -> None:
    found = re.search(r"[0-9০-৯]+", clock(wall, lang))
    assert found is not None
    assert int(to_latin_digits(found.group(0))) == (wall.hour + 11) % 12 + 1
