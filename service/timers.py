"""What runs on a clock: offers that lapse, and the daily retention pass.

Offer timeouts are rows with a due time (``job_offers.expires_at``), looked at every few
seconds and at start-up, so nothing is lost with the process. Retention erases what the
privacy promise says we drop: the personal fields of orders finished long ago, abandoned
bookings, and settled outbox rows; first a minute after start-up, then daily.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from app import offers
from app.core import Core
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


class Timers:
    """The clocks of one running bot."""

    def __init__(
        self,
        core: Core,
        *,
        retention_days: int,
        retention: bool = True,
        offer_interval: float = OFFER_INTERVAL,
    ) -> None:
        self._core = core
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
                await offers.expire_lapsed(self._core)
            except Exception:  # the timer must outlive any one failure
                log.exception("offer timers failed")

    async def _daily(self) -> None:
        await asyncio.sleep(RETENTION_FIRST.total_seconds())
        while True:
            try:
                await self.retention_pass()
            except Exception:
                log.exception("retention failed")
            await asyncio.sleep(RETENTION_INTERVAL.total_seconds())

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
