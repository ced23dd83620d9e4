"""A lock per person, in one process: their events one at a time, in the order they came."""

from __future__ import annotations

import asyncio

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

    def __call__(self, person: Address) -> _Held:
        """Hold ``person``'s lock for the ``async with`` block."""
        return _Held(self._locks, person)

    @property
    def active(self) -> int:
        """How many people have events in flight."""
        return len(self._locks)


class _Held:
    """One ``async with`` of a person's lock (a class: it is entered for every event)."""

    __slots__ = ("_lock", "_locks", "_person")

    def __init__(self, locks: dict[Address, tuple[asyncio.Lock, int]], person: Address) -> None:
        self._locks = locks
        self._person = person
        lock, holders = locks.get(person, (None, 0))
        self._lock = lock or asyncio.Lock()
        locks[person] = (self._lock, holders + 1)

    async def __aenter__(self) -> None:
        try:
            await self._lock.acquire()
        except BaseException:  # cancelled while waiting: no longer one of the holders
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        lock, holders = self._locks[self._person]
        if holders <= 1:
            del self._locks[self._person]
        else:
            self._locks[self._person] = (lock, holders - 1)
