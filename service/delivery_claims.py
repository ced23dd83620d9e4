"""The delivery worker's side of an outbox shared by several workers (``serve`` on PostgreSQL).

A worker constructed with a name claims its rows (``storage/outbox_claims.py``) instead of
reading every due one, for :data:`LEASE`: far longer than one send may take (the Bot API's
timeouts are seconds), and renewed every third of it while the round lasts (a round with a
chat's ten notices a second apart, or waiting behind Telegram's rate limiter, may be longer
than the lease). What the round did not settle (a chat's rows after one that waits for a
retry) is let go at its end, for any worker to take when due.

Each outcome is recorded only while the worker still holds the row: if its lease ran out
(the process stalled past it) and another worker claimed the row, the outcome changes
nothing, and the new holder sends and records it. What this worker sent meanwhile is then
treated as for a row erased in flight: taken back when it carries personal data (erasure
would not find it), otherwise left as a duplicate, with a warning.

Pacing across workers: a chat's rows are claimed only when no notice reached it in the last
``per_chat_interval`` (its rows' ``sent_at``), and within a round the worker spaces them
itself. Telegram's 29 messages a second per bot is shared by giving each worker's rate
limiter its part (29/N for N workers; ``serve --workers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta

from storage import outbox, outbox_claims
from storage.database import Database, Write

log = logging.getLogger(__name__)

#: How long a claim lasts without renewal.
LEASE = timedelta(seconds=60)


class Claims:
    """One worker's claims on the shared outbox."""

    def __init__(
        self,
        db: Database,
        worker: str,
        clock: Callable[[], datetime],
        *,
        pace: float,
        lease: timedelta = LEASE,
    ) -> None:
        self.worker = worker
        self._db = db
        self._clock = clock
        self._pace = timedelta(seconds=pace)
        self._lease = lease

    async def take(self, limit: int) -> list[outbox.Pending]:
        """Claim up to ``limit`` due notices (each chat's in order, paced)."""
        async with self._db.transaction() as tx:
            return await outbox_claims.claim(
                tx,
                worker=self.worker,
                now=self._clock(),
                lease=self._lease,
                limit=limit,
                pace=self._pace,
            )

    async def record(self, writes: Sequence[Write]) -> list[int]:
        """Write an outcome if this worker still holds its row ([0] and nothing when not)."""
        async with self._db.transaction() as tx:
            done = await outbox_claims.record(tx, outbox_claims.held(writes, worker=self.worker))
        if not done[0]:
            log.warning("outbox: an outcome not recorded: the row is gone or another worker's")
        return done

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """Keep this round's claims alive while it runs; let go of what is left at its end."""
        renewing = asyncio.create_task(self._renew(), name="outbox-claims")
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                async with self._db.transaction() as tx:
                    await outbox_claims.release(tx, worker=self.worker)
            except Exception as error:  # they lapse with the lease (or this worker retakes)
                log.error("outbox: claims not let go: %s", type(error).__name__)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                async with self._db.transaction() as tx:
                    await outbox_claims.renew(
                        tx, worker=self.worker, now=self._clock(), lease=self._lease
                    )
            except Exception as error:  # tried again in a third of the lease
                log.error("outbox: claims not renewed: %s", type(error).__name__)
