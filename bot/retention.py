"""The daily retention job of ``mistri-bot run``: erases what the privacy promise says we drop."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application, ContextTypes, Job

from bot.runtime import Runtime
from storage import outbox, retention
from storage.models import utcnow
from storage.retention import RetentionResult

log = logging.getLogger(__name__)

JOB_NAME = "retention"
INTERVAL = timedelta(days=1)
#: Soon after start-up, so a bot restarted more often than daily still erases on time.
FIRST_RUN = timedelta(minutes=1)
#: Settled outbox rows (ids and a chat id) are kept this long, for support questions.
NOTICE_RETENTION = timedelta(days=7)


@dataclass
class RetentionJob:
    """Erases expired orders' personal fields and abandoned bookings of one running bot."""

    runtime: Runtime
    retention_days: int

    async def run(self, context: ContextTypes.DEFAULT_TYPE | None = None) -> RetentionResult:
        """Run one pass of both erasures; a failure of one does not skip the other."""
        now = utcnow()
        orders = sessions = 0
        try:
            orders = (
                await retention.erase_expired(
                    self.runtime.engine, now=now, retention_days=self.retention_days
                )
            ).orders
        except SQLAlchemyError as error:
            # The type only: a statement's text is harmless, but keep logs free of anything
            # a driver might echo. Tomorrow's run retries.
            log.error("retention: erasing finished orders failed: %s", type(error).__name__)
        try:
            sessions = (
                await retention.erase_abandoned(
                    self.runtime.engine, now=now, store=self.runtime.store
                )
            ).sessions
        except SQLAlchemyError as error:
            log.error("retention: erasing abandoned bookings failed: %s", type(error).__name__)
        try:
            async with self.runtime.engine.begin() as conn:
                notices = await outbox.purge_finished(conn, before=now - NOTICE_RETENTION)
            log.info("retention: %d settled notices removed from the outbox", notices)
        except SQLAlchemyError as error:
            log.error("retention: purging the outbox failed: %s", type(error).__name__)
        return RetentionResult(orders=orders, sessions=sessions)


def schedule_retention(
    application: Application,  # type: ignore[type-arg]
    runtime: Runtime,
    *,
    retention_days: int,
) -> Job:  # type: ignore[type-arg]
    """Register the daily retention job in the Application's JobQueue."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot is installed without its job-queue extra")
    job = RetentionJob(runtime, retention_days)
    return job_queue.run_repeating(job.run, interval=INTERVAL, first=FIRST_RUN, name=JOB_NAME)
