"""Which technician is offered a job first: one pure function, so the rule is easy to test.

Fewest open jobs first (spread the work), then the nearest base to the order's location pin
when both are known, then the one who waited longest since their last offer (never offered
counts as longest), then the better rating, then the earliest registered (a stable order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

_EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking needs to know about one technician who could take the job."""

    technician_id: int
    open_jobs: int
    base: tuple[float, float] | None = None
    last_offered_at: datetime | None = None
    rating: float | None = None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the great-circle distance between two (latitude, longitude) points in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def rank(candidates: Iterable[Candidate], pin: tuple[float, float] | None) -> list[Candidate]:
    """Return ``candidates`` best first for an order at ``pin`` (None when it has no pin)."""

    def key(candidate: Candidate) -> tuple[int, float, float, float, int]:
        # Unknown distance sorts after every known one: a technician who told us where they
        # are should not lose to one who did not.
        distance = (
            distance_km(candidate.base, pin)
            if candidate.base is not None and pin is not None
            else math.inf
        )
        waited = (
            candidate.last_offered_at.timestamp()
            if candidate.last_offered_at is not None
            else -math.inf
        )
        rating = -(candidate.rating if candidate.rating is not None else 0.0)
        return (candidate.open_jobs, distance, waited, rating, candidate.technician_id)

    return sorted(candidates, key=key)
