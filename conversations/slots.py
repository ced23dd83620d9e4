"""Preferred visit times: a day (today, tomorrow, the day after) and a part of it, Dhaka time.

The parts of the day are defined here once, with their hours, and every text that shows a
visit (the booking's buttons and summary, /myorders, /mydata, the technician's notice, the
operators' board) names them through :func:`part_label` / :func:`format_visit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from conversations.dates import visit_day
from conversations.digits import localize_digits
from conversations.i18n import N_, translator

DHAKA = ZoneInfo("Asia/Dhaka")
#: A part of today is offered only while at least this much of it is left.
LEAD_TIME = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DayPart:
    """A part of the day in which a technician can come (``ends`` is exclusive)."""

    key: str
    name: str
    starts: time
    ends: time


# What a Dhaka customer means by each word: সকাল until noon, দুপুর until three, বিকেল until
# six, সন্ধ্যা until nine. The keys are stored with each order (``visit_part``); orders stored
# before these hours (morning 9–12, afternoon 12–17, evening 17–20) keep their keys and read
# with the hours below.
DAY_PARTS: tuple[DayPart, ...] = (
    DayPart("morning", N_("Morning"), time(8), time(12)),
    DayPart("midday", N_("Midday"), time(12), time(15)),
    DayPart("afternoon", N_("Afternoon"), time(15), time(18)),
    DayPart("evening", N_("Evening"), time(18), time(21)),
)
DAY_PARTS_BY_KEY = {part.key: part for part in DAY_PARTS}
DAY_NAMES = (N_("Today"), N_("Tomorrow"), N_("Day after tomorrow"))
#: How many slot buttons share a row: a label with its hours is too wide for more.
PER_ROW = 2


@dataclass(frozen=True, slots=True)
class Slot:
    """A day offset from today (0–2) and a part of that day."""

    day: int
    part: str

    @property
    def key(self) -> str:
        """Compact form used in button data (``1-evening``)."""
        return f"{self.day}-{self.part}"


def dhaka_today(now: datetime) -> date:
    """Return the calendar date in Dhaka at the instant ``now``."""
    return now.astimezone(DHAKA).date()


def dhaka_date(moment: datetime) -> date:
    """Return the Dhaka calendar date of ``moment`` (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(DHAKA).date()


def is_open(part: DayPart, day: date, now: datetime) -> bool:
    """Tell whether ``part`` of ``day`` still has at least :data:`LEAD_TIME` left at ``now``."""
    return now.astimezone(DHAKA) <= datetime.combine(day, part.ends, DHAKA) - LEAD_TIME


def open_slots(now: datetime) -> list[Slot]:
    """Return the slots that can still be booked at ``now`` (Dhaka time), in order."""
    today = dhaka_today(now)
    return [
        Slot(day, part.key)
        for day in range(len(DAY_NAMES))
        for part in DAY_PARTS
        if day > 0 or is_open(part, today, now)
    ]


def slot_rows(now: datetime) -> list[tuple[Slot, ...]]:
    """Return the open slots as button rows: each day on rows of its own, :data:`PER_ROW` a row."""
    rows: list[tuple[Slot, ...]] = []
    for day in range(len(DAY_NAMES)):
        of_day = [slot for slot in open_slots(now) if slot.day == day]
        rows.extend(tuple(of_day[at : at + PER_ROW]) for at in range(0, len(of_day), PER_ROW))
    return rows


def parse_slot_key(key: str) -> Slot | None:
    """Parse ``1-evening`` back into a slot, or None."""
    day_text, _, part = key.partition("-")
    if not re.fullmatch(r"[0-9]", day_text) or int(day_text) >= len(DAY_NAMES):
        return None
    if part not in DAY_PARTS_BY_KEY:
        return None
    return Slot(int(day_text), part)


def slot_button_key(slot: Slot, now: datetime) -> str:
    """Return a slot as button data that names its calendar date (``20261124-evening``).

    A day offset alone would change meaning when the button is pressed on a later day.
    """
    return f"{slot_date(slot, now):%Y%m%d}-{slot.part}"


def parse_slot_button(key: str, now: datetime) -> tuple[date, str] | None:
    """Parse :func:`slot_button_key` data into (date, part), or None when malformed."""
    match = re.fullmatch(r"([0-9]{8})-([a-z]+)", key)
    if match is None or match.group(2) not in DAY_PARTS_BY_KEY:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    return day, match.group(2)


def slot_date(slot: Slot, now: datetime) -> date:
    """Return the calendar date a slot chosen at ``now`` refers to."""
    return dhaka_today(now) + timedelta(days=slot.day)


def _clock_hour(moment: time) -> int:
    return (moment.hour + 11) % 12 + 1


def format_hours(part: DayPart, lang: str) -> str:
    """Return a part's hours as people say them: ``3–6 pm``, ``8 am–12 pm``; ``৩টা–৬টা``."""
    starts, ends = _clock_hour(part.starts), _clock_hour(part.ends)
    if lang == "bn":
        # Bengali names the hour with -টা; the word for the part already says which half.
        return localize_digits(f"{starts}টা–{ends}টা", lang)

    def half(moment: time) -> str:
        return "am" if moment.hour < 12 else "pm"

    if half(part.starts) == half(part.ends):
        return f"{starts}–{ends} {half(part.ends)}"
    return f"{starts} {half(part.starts)}–{ends} {half(part.ends)}"


def part_label(part: str, lang: str) -> str:
    """Return a part of the day with its hours: ``Afternoon (3–6 pm)`` / ``বিকেল (৩টা–৬টা)``."""
    found = DAY_PARTS_BY_KEY.get(part)
    if found is None:
        return ""
    name = translator(lang)._(found.name)
    return f"{name} ({format_hours(found, lang)})"


def slot_label(slot: Slot, lang: str) -> str:
    """Return a slot's button label: ``Today · Afternoon (3–6 pm)``."""
    day = translator(lang)._(DAY_NAMES[slot.day])
    return f"{day} · {part_label(slot.part, lang)}"


def time_note(lang: str) -> str:
    """Return the line under the time question: whose clock the hours are on."""
    return translator(lang)._("All times are Dhaka time.")


def format_day(day: date, lang: str) -> str:
    """Return a visit's date as people in ``lang`` read it (Bengali digits in Bengali)."""
    return visit_day(day, lang)


def format_visit(day: date, part: str, lang: str) -> str:
    """Return ``Tue, 25 November, Afternoon (3–6 pm)`` in ``lang``."""
    label = part_label(part, lang)
    return f"{format_day(day, lang)}, {label}" if label else format_day(day, lang)


def visit_line(day: date, part: str, lang: str) -> str:
    """Return the visit labelled as such: ``Visit: Tue, 25 November, Afternoon (3–6 pm)``."""
    return translator(lang)._("Visit") + ": " + format_visit(day, part, lang)
