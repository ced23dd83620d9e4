"""Updates from the inbox to the core: each person's in arrival order, others side by side.

``serve`` stores every webhook update (``storage/inbox.py``) before answering it, then hands
the stored rows here. Each row is read into an event by its channel's reader and queued on
the scheduler (``service/scheduler.py``) behind the person's earlier ones; once the core has
committed what the event changed (its session saved), the row is marked done, before the
answer is sent (``app.handle.handle``'s ``settled``). What a crash or a stop leaves pending is
taken up at the next start-up (:meth:`Intake.start`), in arrival order.

One process: the row is marked done right after the session's commit, not within it (the
session is committed on its own connection or in a group commit, each action in a
transaction of its own); a crash in the microseconds between the two has the event handled a
second time after the restart. Several workers: the row is marked done (and answered) only
after the answer went out, and the session is saved with the row's id (``Session.applied``):
an update a crash interrupted after its commit is answered again by another worker with the
step's question, never applied twice (``app.handle.answer``); an answer may then come twice,
none is lost.

**Several workers** (``serve`` on PostgreSQL: ``worker`` given) share the inbox by claims
(``storage/inbox.py``). A row is claimed in its event's turn, right before the core takes it;
a row whose person has an earlier update still pending (in this worker or another) is tried
again shortly, without holding anyone else up; a row another worker holds is left to it.
Nothing is taken up wholesale at start-up: a sweeper claims, about every second, the rows no
live worker holds (nobody claimed them within :data:`ORPHAN_AFTER` of their arrival, or their
lease ran out: the worker that had them died), start-up's included. A worker that stops gives
its unfinished claims back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.core import Core
from app.handle import handle
from conversations.events import Inbound
from service import metrics
from service.scheduler import Scheduler
from service.shared import ours
from storage import inbox
from storage.inbox import Claim, Stored
from storage.models import utcnow

log = logging.getLogger(__name__)

#: How long a handled update's id is kept to recognise a redelivery: Meta retries a webhook
#: for up to 7 days (https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks).
KEEP_DONE = timedelta(days=8)
#: How often handled ids older than that are deleted.
PURGE_EVERY = 6 * 3600.0
#: Rows read at a time at start-up (and by a sweep).
_PAGE = 500
#: How long a worker holds an update it handles (several workers). The claim is taken right
#: before the core, and the row is marked done once the session is committed, before the
#: answer goes out; between the two is database work of milliseconds and at most one or two
#: channel requests (the operators' chat's administrators; a "please slow down"), each bounded
#: by its client's timeout (Bot API 5 s to connect + 5 s to read, Graph API 10 s). A worker
#: told to stop gives its events STOP_GRACE (4 s) and then gives its claims back. A lease
#: that ran out while its worker still handled the row has it handled twice (see
#: ``storage.inbox.finished``): it must stay well above the longest handling.
LEASE = timedelta(seconds=30)
#: How often a worker looks for updates no live worker holds (several workers).
SWEEP_EVERY = 1.0
#: How long an update may wait unclaimed before any worker takes it: the worker that stored
#: it claims it within milliseconds unless it died (or is that far behind).
ORPHAN_AFTER = timedelta(seconds=5)
#: The first and the longest wait, in seconds, before an update whose person has an earlier
#: one pending is tried again (doubling in between): the earlier one is usually in hand
#: somewhere for milliseconds, or for a lease when its worker died.
RETRY_FIRST = 0.02
RETRY_LONGEST = 1.0


@dataclass(frozen=True)
class Reader:
    """How a channel's stored updates are read.

    ``event``: the stored body as an event (None: nothing for the core, such as a delivery
    status or a message kind the bot does not read); ``other``: what to do with a body that
    is no event (apply delivery statuses), if anything.
    """

    event: Callable[[dict[str, Any]], Inbound | None]
    other: Callable[[dict[str, Any]], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    """A stored update in hand: its row, its channel's reader and the event read from it."""

    row: Stored
    reader: Reader
    event: Inbound | None


class Intake:
    """Hands stored updates to the core and marks each done once its effects are committed."""

    def __init__(
        self,
        core: Core,
        readers: Mapping[str, Reader],
        *,
        concurrency: int = 256,
        purge: bool = True,
        worker: str | None = None,
        lease: timedelta = LEASE,
        sweep_every: float = SWEEP_EVERY,
        orphan_after: timedelta = ORPHAN_AFTER,
    ) -> None:
        """``worker``: this worker's name where several share the database (None: alone)."""
        self._core = core
        self._readers = dict(readers)
        self._scheduler = Scheduler(self._handle, concurrency=concurrency)
        #: The inbox row of each event in the scheduler (events are frozen: kept beside them).
        self._rows: dict[int, _Entry] = {}
        #: Rows submitted and not done: a row is never queued twice (start-up and a POST).
        self._known: set[int] = set()
        #: Each submitted row's channel and arrival, for the handling latency (service/metrics).
        self._arrived: dict[int, tuple[str, datetime]] = {}
        self._others: set[asyncio.Task[None]] = set()
        self._purge = purge
        self._purger: asyncio.Task[None] | None = None
        self._worker = worker
        self._lease = lease
        self._sweep_every = sweep_every
        self._orphan_after = orphan_after
        self._sweeper: asyncio.Task[None] | None = None
        #: Rows waiting to be tried again (an earlier update of their person is pending).
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._delays: dict[int, float] = {}

    @property
    def worker(self) -> str | None:
        """This worker's name where several share the database (None: it is alone)."""
        return self._worker

    async def start(self) -> int:
        """Queue every update a stop or a crash left pending; return how many.

        With several workers, only those no live worker holds (the sweeper's first round).
        """
        if self._purge and self._purger is None:
            self._purger = asyncio.create_task(self._purge_loop(), name="inbox-purge")
        if self._worker is not None:
            taken = await self._sweep()
            if taken:
                log.info("taking up %d stored updates no worker holds", taken)
            if self._sweeper is None:
                self._sweeper = asyncio.create_task(self._sweep_loop(), name="inbox-sweep")
            return taken
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
        self._arrived[row.id] = (row.channel, row.received_at)
        try:
            event = reader.event(row.body)
        except Exception:  # a body the reader cannot take must not stop the others
            log.exception("a stored update could not be read; it is dropped")
            event = None
        self._dispatch(_Entry(row, reader, event))

    def _dispatch(self, entry: _Entry) -> None:
        if entry.event is not None:
            self._rows[id(entry.event)] = entry
            self._scheduler.submit(entry.event)
            return
        task = asyncio.create_task(self._other(entry), name="inbox-other")
        self._others.add(task)
        task.add_done_callback(self._others.discard)

    @property
    def waiting(self) -> int:
        """How many updates are submitted and not handled yet."""
        return len(self._known)

    async def drain(self) -> None:
        """Wait until every update submitted so far is handled (or left to another worker)."""
        while True:
            while self._others:
                await asyncio.gather(*list(self._others), return_exceptions=True)
            await self._scheduler.drain()
            if not self._retries and not self._others:
                return
            await asyncio.sleep(RETRY_FIRST)

    async def close(self, *, grace: float = 0.0) -> None:
        """Stop (after up to ``grace`` seconds of handling): what is left stays pending."""
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self.drain()
        loops = [task for task in (self._purger, self._sweeper) if task is not None]
        for task in [*loops, *self._others]:
            task.cancel()
        for timer in self._retries.values():
            timer.cancel()
        self._retries.clear()
        await asyncio.gather(*self._others, *loops, return_exceptions=True)
        self._purger = self._sweeper = None
        await self._scheduler.close()
        if self._worker is not None:
            await self._give_back(self._worker)
        if self._known:
            log.info(
                "stopping with %d received updates to handle after the restart", len(self._known)
            )

    async def _give_back(self, worker: str) -> None:
        """Give up the claims on what this worker did not finish: others take it at once."""
        try:
            async with self._core.db.transaction() as tx:
                given = await inbox.release(tx, worker=worker)
        except Exception as error:  # their leases run out instead
            log.warning("stopping: claims not given back (%s)", type(error).__name__)
            return
        if given:
            log.info("stopping: %d received updates given back to the other workers", given)

    async def _handle(self, event: Inbound) -> None:
        entry = self._rows.pop(id(event))
        row = entry.row.id
        if self._worker is not None and not await self._claimed(entry):
            return

        shared = self._worker is not None

        async def settled() -> None:
            await self._done(row, answered=shared)

        try:
            # Several workers: the update is done once answered (a crash before that leaves
            # it to another worker, which finds its effects saved with the session).
            await handle(
                self._core,
                event,
                settled=settled,
                update=row if shared else None,
                answer_first=shared,
            )
        finally:
            # Cancelled or not, this process is done with it: a row not marked done is
            # handled after the restart (with several workers: after its lease, by any).
            self._known.discard(row)
            self._arrived.pop(row, None)

    async def _other(self, entry: _Entry) -> None:
        row, reader = entry.row, entry.reader
        if self._worker is not None and not await self._claimed(entry):
            return
        try:
            if reader.other is not None:
                try:
                    await reader.other(row.body)
                except Exception:  # like a failed event: not taken up again at every start
                    log.exception("a stored update that is no event failed; it is dropped")
            # Nothing is answered: done and through at once.
            await self._done(row.id, answered=True)
        finally:
            self._known.discard(row.id)
            self._arrived.pop(row.id, None)

    async def _done(self, row: int, *, answered: bool = False) -> None:
        writes = inbox.finished(row, worker=self._worker)
        if answered and self._worker is not None:
            writes += inbox.answered(row, worker=self._worker)
        await self._core.db.write(writes)
        arrived = self._arrived.pop(row, None)
        if arrived is not None:
            metrics.handled(*arrived)

    async def _claimed(self, entry: _Entry) -> bool:
        """Claim the entry's row for this worker; else try again later, or leave it."""
        assert self._worker is not None
        row = entry.row.id
        try:
            async with self._core.db.transaction() as tx:
                found = await inbox.claim(
                    tx, inbox_id=row, worker=self._worker, now=utcnow(), lease=self._lease
                )
        except Exception as error:  # the database is away for a moment: as if held up
            log.warning("claiming a received update failed (%s)", type(error).__name__)
            found = Claim.BEHIND
        if found is Claim.TAKEN:
            self._delays.pop(row, None)
            return True
        if found is Claim.BEHIND:
            # The person's earlier update is pending (here, or in another worker): this one
            # leaves the person's turn, so the earlier one can be handled here too.
            delay = min(self._delays.get(row, RETRY_FIRST / 2) * 2, RETRY_LONGEST)
            self._delays[row] = delay
            loop = asyncio.get_running_loop()
            self._retries[row] = loop.call_later(delay, self._again, entry)
            return False
        # Done already, or another worker has it: theirs.
        self._delays.pop(row, None)
        self._known.discard(row)
        return False

    def _again(self, entry: _Entry) -> None:
        del self._retries[entry.row.id]
        self._dispatch(entry)

    async def _sweep(self) -> int:
        """Submit the stored updates no live worker holds; return how many were new here."""
        taken, after = 0, 0
        while True:
            async with self._core.db.read() as tx:
                rows = await inbox.orphans(
                    tx, now=utcnow(), older_than=self._orphan_after, after=after, limit=_PAGE
                )
            for row in rows:
                if row.id not in self._known and row.channel in self._readers:
                    taken += 1
                    self.submit(row)
            if len(rows) < _PAGE:
                return taken
            after = rows[-1].id

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_every)
            try:
                await self._sweep()
            except Exception as error:  # the next round tries again
                log.warning("looking for unclaimed updates failed (%s)", type(error).__name__)

    async def _purge_loop(self) -> None:
        while True:
            try:
                # Several workers: only the one holding the lease purges (service/shared.py).
                ttl = timedelta(seconds=3 * PURGE_EVERY)
                purged = 0
                if await ours(self._core.db, "inbox-purge", self._worker, ttl):
                    async with self._core.db.transaction() as tx:
                        purged = await inbox.purge(tx, before=utcnow() - KEEP_DONE)
                        if self._worker is not None:
                            await inbox.forget_lapsed(tx, now=utcnow())
                if purged:
                    log.info("forgot %d handled webhook ids", purged)
            except Exception:
                log.exception("purging handled webhook ids failed")
            await asyncio.sleep(PURGE_EVERY)
