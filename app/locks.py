"""A lock per person, in one process: their events one at a time, in the order they came."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from conversations.events import Address


class LocalLocks:
    """Per-person ``asyncio.Lock``s, dropped once no event of the person is in flight.

    Like aiogram's per-key storage locks: memory follows the people active now, not everyone
    ever seen. ``asyncio.Lock`` wakes waiters in arrival order, which keeps a person's events
    in the order they came. Several processes need a shared lock instead (one per person in
    the database).
    """

    def __init__(self) -> None:
        self._locks: dict[Address, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def __call__(self, person: Address) -> AsyncIterator[None]:
        """Hold ``person``'s lock for the block."""
        lock, holders = self._locks.get(person, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[person] = (lock, holders + 1)
        try:
            async with lock:
                yield
        finally:
            lock, holders = self._locks[person]
            if holders <= 1:
                del self._locks[person]
            else:
                self._locks[person] = (lock, holders - 1)

    @property
    def active(self) -> int:
        """How many people have events in flight."""
        return len(self._locks)
