"""The delivery worker's slots: a few sends at once, the chat with most left first."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator


class Gate:
    """At most ``size`` sends at once; of the chats waiting, the one with most left goes first.

    A chat gets about one notice a second, so the chat with the most notices in a round sets
    how long the round takes. In arrival order it would queue behind every other chat each
    time its second is up; served first, the round lasts no longer than the overall rate
    needs (bench/dispatch.py: 1,000 offers to 100 chats).
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, left: int) -> AsyncIterator[None]:
        """Hold one of the slots; ``left`` is how many notices the chat has left, this one too."""
        if self._free:
            self._free -= 1
        else:
            future = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (-left, next(self._arrivals), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # handed a slot just as it was cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            future = heapq.heappop(self._waiting)[2]
            if not future.done():  # not cancelled meanwhile
                future.set_result(None)
                return
        self._free += 1
