"""Support hours: when the company's people answer, in Dhaka time (``MISTRI_SUPPORT_HOURS``).

Read once when the settings are read (a wrong value stops the start with one line) and again
where a customer is told when someone will answer. Imports nothing of the project: the
settings use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DHAKA = ZoneInfo("Asia/Dhaka")

#: ASCII digits only (``\d`` would take Bengali ones too).
_HOURS = re.compile(
    r"^\s*([01]?[0-9]|2[0-3]):([0-5][0-9])\s*[-–]\s*([01]?[0-9]|2[0-4]):([0-5][0-9])\s*$"
)


@dataclass(frozen=True, slots=True)
class Hours:
    """When the company's people answer, in Dhaka time (``end`` may be 24:00)."""

    start: time
    end: time | None  # None: midnight at the end of the day

    def open_at(self, moment: datetime) -> bool:
        """Tell whether someone answers at ``moment``."""
        local = moment.astimezone(DHAKA).time()
        return self.start <= local and (self.end is None or local < self.end)


def parse_hours(value: str) -> Hours:
    """Read ``HH:MM-HH:MM`` (Dhaka time); raise ValueError with the form expected."""
    found = _HOURS.match(value)
    if found is None:
        raise ValueError("support hours as HH:MM-HH:MM in Dhaka time, such as 09:00-21:00")
    start = time(int(found[1]), int(found[2]))
    end_hour, end_minute = int(found[3]), int(found[4])
    if end_hour == 24 and end_minute:
        raise ValueError("support hours end at 24:00 at the latest")
    end = None if end_hour == 24 else time(end_hour, end_minute)
    if end is not None and end <= start:
        raise ValueError("support hours must end after they start, such as 09:00-21:00")
    return Hours(start, end)
