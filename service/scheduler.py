"""Events as they come: one person's in order, different people's side by side.

Each person with events waiting has one queue and one task that works through it; a task
holds one of the shared slots only while it handles an event. So a person waiting for their
own earlier events holds no shared capacity, and someone who sends a thousand messages at
once cannot keep everyone else waiting behind them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from conversations.events import Address, Inbound

log = logging.getLogger(__name__)


class Scheduler:
    """Runs ``handle`` for every event submitted, at most ``concurrency`` at once."""

    def __init__(
        self, handle: Callable[[Inbound], Awaitable[None]], *, concurrency: int = 256
    ) -> None:
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[Address, deque[Inbound]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, event: Inbound) -> None:
        """Handle ``event`` after the person's earlier ones."""
        person = event.sender.person
        queue = self._queues.get(person)
        if queue is not None:
            queue.append(event)
            return
        self._queues[person] = deque((event,))
        self._idle.clear()
        task = asyncio.create_task(self._work_through(person), name="person-events")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def _work_through(self, person: Address) -> None:
        queue = self._queues[person]
        try:
            while queue:
                await self._serve(queue[0])
                queue.popleft()
        finally:
            del self._queues[person]

    async def _serve(self, event: Inbound) -> None:
        """Handle one event, in one of the shared slots."""
        async with self._slots:
            try:
                await self._handle(event)
            except Exception:  # the next event of theirs still gets its turn
                log.exception("an event failed")

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    @property
    def active(self) -> int:
        """How many people have events waiting or in hand."""
        return len(self._queues)

    @property
    def waiting(self) -> int:
        """How many events are submitted and not handled yet (those in hand included)."""
        return sum(len(queue) for queue in self._queues.values())

    async def drain(self) -> None:
        """Wait until every event submitted so far is handled."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop now: events not handled yet are dropped (call :meth:`drain` first to wait)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
