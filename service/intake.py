"""Updates from the inbox to the core: each person's in arrival order, others side by side.

``serve`` stores every webhook update (``storage/inbox.py``) before answering it, then hands
the stored rows here. Each row is read into an event by its channel's reader and queued on
the scheduler (``service/scheduler.py``) behind the person's earlier ones; once the core has
committed what the event changed (its session saved), the row is marked done, before the
answer is sent (``app.handle.handle``'s ``settled``). What a crash or a stop leaves pending is
taken up at the next start-up (:meth:`Intake.start`), in arrival order.

The row is marked done right after the session's commit, not within it: the session is
committed on its own connection (or in a group commit) and each action in a transaction of
its own, so there is no one unit of work to add it to. A crash in the microseconds between
the two has the event handled a second time after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.core import Core
from app.handle import handle
from conversations.events import Inbound
from service.scheduler import Scheduler
from service.shared import ours
from storage import inbox
from storage.inbox import Stored
from storage.models import utcnow

log = logging.getLogger(__name__)

#: How long a handled update's id is kept to recognise a redelivery: Meta retries a webhook
#: for up to 7 days (https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks).
KEEP_DONE = timedelta(days=8)
#: How often handled ids older than that are deleted.
PURGE_EVERY = 6 * 3600.0
#: Rows read at a time at start-up.
_PAGE = 500


@dataclass(frozen=True)
class Reader:
    """How a channel's stored updates are read.

    ``event``: the stored body as an event (None: nothing for the core, such as a delivery
    status or a message kind the bot does not read); ``other``: what to do with a body that
    is no event (apply delivery statuses), if anything.
    """

    event: Callable[[dict[str, Any]], Inbound | None]
    other: Callable[[dict[str, Any]], Awaitable[None]] | None = None


class Intake:
    """Hands stored updates to the core and marks each done once its effects are committed."""

    def __init__(
        self,
        core: Core,
        readers: Mapping[str, Reader],
        *,
        concurrency: int = 256,
        purge: bool = True,
        lease_holder: str | None = None,
    ) -> None:
        """``lease_holder``: this worker's name when several share the database."""
        self._core = core
        self._readers = dict(readers)
        self._scheduler = Scheduler(self._handle, concurrency=concurrency)
        #: The inbox row of each event in the scheduler (events are frozen: kept beside them).
        self._rows: dict[int, int] = {}
        #: Rows submitted and not done: a row is never queued twice (start-up and a POST).
        self._known: set[int] = set()
        self._others: set[asyncio.Task[None]] = set()
        self._purge = purge
        self._lease_holder = lease_holder
        self._purger: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Queue every update a stop or a crash left pending; return how many."""
        after, taken = 0, 0
        while True:
            async with self._core.db.read() as tx:
                rows = await inbox.pending(tx, after=after, limit=_PAGE)
            for row in rows:
                self.submit(row)
            taken += len(rows)
            if len(rows) < _PAGE:
                break
            after = rows[-1].id
        if taken:
            log.info("taking up %d updates received before the restart", taken)
        if self._purge and self._purger is None:
            self._purger = asyncio.create_task(self._purge_loop(), name="inbox-purge")
        return taken

    def submit(self, row: Stored) -> None:
        """Handle a stored update after the earlier ones of the same person."""
        if row.id in self._known:
            return
        reader = self._readers.get(row.channel)
        if reader is None:
            # A channel this process does not serve: left for one that does.
            return
        self._known.add(row.id)
        try:
            event = reader.event(row.body)
        except Exception:  # a body the reader cannot take must not stop the others
            log.exception("a stored update could not be read; it is dropped")
            event = None
        if event is not None:
            self._rows[id(event)] = row.id
            self._scheduler.submit(event)
            return
        task = asyncio.create_task(self._other(reader, row), name="inbox-other")
        self._others.add(task)
        task.add_done_callback(self._others.discard)

    @property
    def waiting(self) -> int:
        """How many updates are submitted and not handled yet."""
        return len(self._known)

    async def drain(self) -> None:
        """Wait until every update submitted so far is handled."""
        while self._others:
            await asyncio.gather(*list(self._others), return_exceptions=True)
        await self._scheduler.drain()

    async def close(self, *, grace: float = 0.0) -> None:
        """Stop (after up to ``grace`` seconds of handling): what is left stays pending."""
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self.drain()
        if self._purger is not None:
            self._purger.cancel()
        for task in list(self._others):
            task.cancel()
        await asyncio.gather(
            *self._others, *([self._purger] if self._purger else []), return_exceptions=True
        )
        self._purger = None
        await self._scheduler.close()
        if self._known:
            log.info(
                "stopping with %d received updates to handle after the restart", len(self._known)
            )

    async def _handle(self, event: Inbound) -> None:
        row = self._rows.pop(id(event))

        async def settled() -> None:
            await self._done(row)

        try:
            await handle(self._core, event, settled=settled)
        finally:
            # Cancelled or not, this process is done with it: a row not marked done is
            # handled after the restart.
            self._known.discard(row)

    async def _other(self, reader: Reader, row: Stored) -> None:
        try:
            if reader.other is not None:
                try:
                    await reader.other(row.body)
                except Exception:  # like a failed event: not taken up again at every start
                    log.exception("a stored update that is no event failed; it is dropped")
            await self._done(row.id)
        finally:
            self._known.discard(row.id)

    async def _done(self, row: int) -> None:
        await self._core.db.write(inbox.finished(row))

    async def _purge_loop(self) -> None:
        while True:
            try:
                # Several workers: only the one holding the lease purges (service/shared.py).
                ttl = timedelta(seconds=3 * PURGE_EVERY)
                purged = 0
                if await ours(self._core.db, "inbox-purge", self._lease_holder, ttl):
                    async with self._core.db.transaction() as tx:
                        purged = await inbox.purge(tx, before=utcnow() - KEEP_DONE)
                if purged:
                    log.info("forgot %d handled webhook ids", purged)
            except Exception:
                log.exception("purging handled webhook ids failed")
            await asyncio.sleep(PURGE_EVERY)
