"""Update processing: one user's updates in order, different users' concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def user_key(update: object) -> int | None:
    """Return whose conversation an update belongs to (None for updates of no one)."""
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Runs updates concurrently, but never two of the same user at once.

    Like aiogram's per-key storage locks: each user gets an ``asyncio.Lock`` while they have
    updates in flight, and it is dropped when their last one is done, so memory follows the
    number of active users, not of all users ever seen. ``asyncio.Lock`` wakes waiters in
    arrival order, which keeps each user's updates in the order they came.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await ``coroutine`` once no earlier update of the same user is running."""
        key = user_key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @property
    def active_users(self) -> int:
        """Number of users with updates in flight."""
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
