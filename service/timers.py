"""What runs on a clock: offers that lapse, and the daily retention pass.

Offer timeouts are rows with a due time (``job_offers.expires_at``), looked at every few
seconds and at start-up, so nothing is lost with the process. Retention erases what the
privacy promise says we drop: the personal fields of orders finished long ago, abandoned
bookings, and settled outbox rows; first a minute after start-up, then daily.

Several workers on one database (``holder`` set): each clock ticks in every worker, and runs
only in the one holding its lease (``service/shared.py``), taken again at each tick: "offers"
for the offers' clock, "retention" for the retention pass. A holder that dies stops renewing,
and the job moves to another worker once its lease runs out (a few ticks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from app import offers
from app.core import Core
from service.shared import ours
from storage import outbox, retention
from storage.retention import RetentionResult

log = logging.getLogger(__name__)

#: How often lapsed offers are looked for, in seconds.
OFFER_INTERVAL = 5.0
RETENTION_INTERVAL = timedelta(days=1)
#: Soon after start-up, so a bot restarted more often than daily still erases on time.
RETENTION_FIRST = timedelta(minutes=1)
#: Settled outbox rows (ids and a chat id) are kept this long, for support questions.
NOTICE_RETENTION = timedelta(days=7)
#: Several workers: how often each asks for the retention lease, which lasts three of these.
RETENTION_TICK = timedelta(minutes=10)


class Timers:
    """The clocks of one running bot."""

    def __init__(
        self,
        core: Core,
        *,
        retention_days: int,
        retention: bool = True,
        offer_interval: float = OFFER_INTERVAL,
        holder: str | None = None,
    ) -> None:
        """``holder``: this worker's name when several share the database (None: the only one)."""
        self._core = core
        self._holder = holder
        self._retention_days = retention_days
        self._retention = retention
        self._offer_interval = offer_interval
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start looking for lapsed offers (and the retention pass, where it runs)."""
        self._tasks.append(asyncio.create_task(self._offers(), name="offer-timers"))
        if self._retention:
            self._tasks.append(asyncio.create_task(self._daily(), name="retention"))

    async def stop(self) -> None:
        """Stop every clock."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _offers(self) -> None:
        while True:
            await asyncio.sleep(self._offer_interval)
            try:
                # Safe even if two workers ran it at once: an offer lapses by a conditional
                # update (still pending), so only one of them moves its order on.
                ttl = timedelta(seconds=3 * self._offer_interval)
                if await ours(self._core.db, "offers", self._holder, ttl):
                    await offers.expire_lapsed(self._core)
            except Exception:  # the timer must outlive any one failure
                log.exception("offer timers failed")

    async def _daily(self) -> None:
        await asyncio.sleep(RETENTION_FIRST.total_seconds())
        if self._holder is not None:
            await self._shared_daily()
        while True:
            try:
                await self.retention_pass()
            except Exception:
                log.exception("retention failed")
            await asyncio.sleep(RETENTION_INTERVAL.total_seconds())

    async def _shared_daily(self) -> None:
        """Retention in the worker holding its lease: at once when it takes it, then daily."""
        last: float | None = None  # when this worker last ran it (monotonic)
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not await ours(self._core.db, "retention", self._holder, 3 * RETENTION_TICK):
                    last = None  # another worker runs it; if it dies, this one starts at once
                elif last is None or loop.time() - last >= RETENTION_INTERVAL.total_seconds():
                    last = loop.time()
                    await self.retention_pass()
            except Exception:
                log.exception("retention failed")
            await asyncio.sleep(RETENTION_TICK.total_seconds())

    async def retention_pass(self) -> RetentionResult:
        """Run one pass of every erasure; a failure of one does not skip the others."""
        core = self._core
        now = core.clock()
        orders = sessions = 0
        try:
            expired = await retention.erase_expired(
                core.db, now=now, retention_days=self._retention_days
            )
            orders = expired.orders
        except SQLAlchemyError as error:
            # The type only: a statement's text is harmless, but keep logs free of anything
            # a driver might echo. Tomorrow's run retries.
            log.error("retention: erasing finished orders failed: %s", type(error).__name__)
        try:
            abandoned = await retention.erase_abandoned(core.db, now=now, store=core.sessions)
            sessions = abandoned.sessions
        except SQLAlchemyError as error:
            log.error("retention: erasing abandoned bookings failed: %s", type(error).__name__)
        try:
            async with core.db.transaction() as tx:
                notices = await outbox.purge_finished(tx, before=now - NOTICE_RETENTION)
            log.info("retention: %d settled notices removed from the outbox", notices)
        except SQLAlchemyError as error:
            log.error("retention: purging the outbox failed: %s", type(error).__name__)
        return RetentionResult(orders=orders, sessions=sessions)
