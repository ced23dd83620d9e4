"""A per-person rate cap: a flood of messages costs the bot little and delays no one else.

Each person has a bucket of ``burst`` events that refills at ``rate`` events a second. An
event that finds the bucket empty is not handled: the first one of a flood is answered with a
short "please slow down", the rest get silence until the bucket has refilled. People are
forgotten once their bucket is full again, so the table holds only those sending right now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from conversations.events import Address


class Verdict(Enum):
    """What to do with one event."""

    HANDLE = "handle"
    #: The first event over the cap: say "please slow down", handle nothing.
    WARN = "warn"
    #: Over the cap and already warned: no answer at all.
    DROP = "drop"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGuard:
    """Token buckets per person: ``burst`` events at once, then ``rate`` a second."""

    #: Above this many people tracked, those whose bucket has refilled are forgotten.
    _PRUNE_ABOVE = 10_000

    def __init__(
        self, *, burst: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("a flood guard needs burst ≥ 1 and rate > 0")
        self._burst = float(burst)
        self._rate = rate
        self._clock = clock
        self._buckets: dict[Address, _Bucket] = {}

    def admit(self, person: Address) -> Verdict:
        """Take one event of ``person`` out of their bucket; say what to do with it."""
        now = self._clock()
        bucket = self._buckets.get(person)
        if bucket is None:
            if len(self._buckets) >= self._PRUNE_ABOVE:
                self._prune(now)
            self._buckets[person] = _Bucket(self._burst - 1, now)
            return Verdict.HANDLE
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False  # the window has passed: a new flood is told again
            return Verdict.HANDLE
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _prune(self, now: float) -> None:
        full = [
            person
            for person, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self._rate >= self._burst
        ]
        for person in full:
            del self._buckets[person]

    @property
    def tracked(self) -> int:
        """How many people's buckets are held (tests)."""
        return len(self._buckets)
