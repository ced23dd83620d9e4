"""Preferred visit times: a day (today, tomorrow, the day after) and a part of it, Dhaka time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from conversations.digits import localize_digits
from conversations.i18n import N_, translator

DHAKA = ZoneInfo("Asia/Dhaka")


@dataclass(frozen=True, slots=True)
class DayPart:
    """A part of the day in which a technician can come."""

    key: str
    name: str
    starts: time
    ends: time


DAY_PARTS: tuple[DayPart, ...] = (
    DayPart("morning", N_("Morning (9am–12pm)"), time(9), time(12)),
    DayPart("afternoon", N_("Afternoon (12–5pm)"), time(12), time(17)),
    DayPart("evening", N_("Evening (5–8pm)"), time(17), time(20)),
)
DAY_PARTS_BY_KEY = {part.key: part for part in DAY_PARTS}
DAY_NAMES = (N_("Today"), N_("Tomorrow"), N_("Day after tomorrow"))


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


def open_slots(now: datetime) -> list[Slot]:
    """Return the slots that have not ended yet at ``now`` (Dhaka time)."""
    local = now.astimezone(DHAKA)
    slots = []
    for day in range(len(DAY_NAMES)):
        for part in DAY_PARTS:
            # A part of today is offered until one hour before it ends.
            cutoff = datetime.combine(local.date(), part.ends, DHAKA) - timedelta(hours=1)
            if day == 0 and local >= cutoff:
                continue
            slots.append(Slot(day, part.key))
    return slots


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


def format_day(day: date, lang: str) -> str:
    """Return a date as people in ``lang`` read it (Bengali digits in Bengali)."""
    return localize_digits(format_date(day, format="EEE, d MMMM", locale=lang), lang)


def format_visit(day: date, part: str, lang: str) -> str:
    """Return ``Tue, 25 November, Evening (5–8pm)`` in ``lang``."""
    part_name = translator(lang)._(DAY_PARTS_BY_KEY[part].name) if part in DAY_PARTS_BY_KEY else ""
    return f"{format_day(day, lang)}, {localize_digits(part_name, lang)}"
