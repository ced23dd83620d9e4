"""Dates and times as people read them, on Dhaka's clock: Babel's Bengali and English formats.

Every date or time the bot shows a person comes from here, so that none is an ISO stamp
(``2025-12-24 15:35``) and the Bengali ones have Bengali digits and month names. Machine
formats (button data, the JSON download, file names) stay ISO and do not belong here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from conversations.digits import localize_digits

DHAKA = ZoneInfo("Asia/Dhaka")

#: Bengali names the part of the day before the hour ("বিকেল ৩টা"). The words and their hours
#: are the ones the visit slots use (conversations/slots.py: সকাল to 12, দুপুর to 15, বিকেল to 18,
#: সন্ধ্যা to 21) rather than CLDR's (দুপুর to 16, বিকাল, রাত্রি), so 15:30 is never called
#: দুপুর in one message and বিকেল in the next. Each entry: (from this hour on, the word).
_BENGALI_PERIODS: tuple[tuple[int, str], ...] = (
    (0, "রাত"),
    (4, "ভোর"),
    (6, "সকাল"),
    (12, "দুপুর"),
    (15, "বিকেল"),
    (18, "সন্ধ্যা"),
    (21, "রাত"),
)


def _locale(lang: str) -> str:
    return "bn" if lang == "bn" else "en"


def in_dhaka(moment: datetime) -> datetime:
    """Return ``moment`` on Dhaka's clock (a naive value is taken as UTC, as SQLite returns it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(DHAKA)
    except OverflowError:
        # Only within hours of year 1 or 9999: show the value's own clock rather than fail.
        return moment


def visit_day(day: date, lang: str) -> str:
    """Return a day as a visit's date: ``Tue, 25 November`` / ``মঙ্গলবার, ২৫ নভেম্বর``."""
    # Bengali's short weekday (মঙ্গল) reads as the planet; the full one is what people write.
    pattern = "EEEE, d MMMM" if lang == "bn" else "EEE, d MMMM"
    return localize_digits(format_date(day, format=pattern, locale=_locale(lang)), lang)


def long_date(day: date, lang: str) -> str:
    """Return a day with its year: ``25 November 2026`` / ``২৫ নভেম্বর ২০২৬``."""
    # Day first in English too, as Bangladesh writes it (Babel's "long" English is US order).
    return localize_digits(format_date(day, format="d MMMM y", locale=_locale(lang)), lang)


def clock(moment: time | datetime | None, lang: str) -> str:
    """Return a time of day: ``9 AM``, ``3:35 PM`` / ``সকাল ৯টা``, ``বিকেল ৩:৩৫``.

    A ``datetime`` is put on Dhaka's clock first; a ``time`` is read as Dhaka's already;
    ``None`` is the end of the day (24:00): ``midnight`` / ``রাত ১২টা``.
    """
    if moment is None:
        return "রাত ১২টা" if lang == "bn" else "midnight"
    wall = in_dhaka(moment).time() if isinstance(moment, datetime) else moment
    if lang != "bn":
        pattern = "h a" if wall.minute == 0 else "h:mm a"
        return format_time(wall, format=pattern, locale="en")
    period = next(word for hour, word in reversed(_BENGALI_PERIODS) if wall.hour >= hour)
    hours = format_time(wall, format="h" if wall.minute == 0 else "h:mm", locale="bn")
    return localize_digits(f"{period} {hours}টা" if wall.minute == 0 else f"{period} {hours}", lang)


def moment(at: datetime, lang: str) -> str:
    """Return an instant in Dhaka: ``24 December 2025, 3:35 PM`` / ``… ২০২৫, বিকেল ৩:৩৫``."""
    local = in_dhaka(at)
    return f"{long_date(local.date(), lang)}, {clock(local.time(), lang)}"


def iso_day(text: str, lang: str) -> str:
    """Return an ISO date in ``text`` (a policy version) as :func:`long_date`, else ``text``."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return localize_digits(text, lang)
    return long_date(day, lang)
