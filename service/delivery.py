"""The delivery worker: sends the outbox through each row's channel, and records each outcome.

- Order: one chat's notices go out in the order they were written; chats are served side by
  side (``concurrency`` at once, the chat with the most notices waiting first).
- Limits: the channel keeps all its sends under its own rate (Telegram's rate limiter,
  ``channels/telegram/polling.rate_limiter``); this worker also leaves ``per_chat_interval``
  (1 s) between the channel's answer to one notice and the next notice to the same chat. A
  chat waiting for its turn takes none of the ``concurrency`` slots, so other chats' notices
  keep the channel busy meanwhile.
- A wait the channel names (Telegram's ``429``): the notice waits that long (kept in the row,
  so a restart waits too), and the whole worker pauses that long.
- Network errors and timeouts: retried with exponential backoff.
- Unreachable (blocked, deactivated): given up; an offer moves on at once.
- Refused (malformed, or its target gone): logged without personal data, not retried (an
  offer moves on).
- Moved (a group upgraded to a supergroup): the new address is kept (``storage/chat_moves``,
  through ``service/moves.py``), the chat's pending notices follow it, the operators' chat is
  addressed there from now on (a warning says to update ``MISTRI_ADMIN_CHAT_ID``), and they
  are sent there.
- Each part of a notice (its text, its pin) is a step: what went out before a failure is
  recorded at once, where erasure looks for it, and a retry sends only the rest. After an
  attempt whose outcome was unknown, copies it left are recorded too, when the channel finds
  them (``channels/telegram/copies.py``: only where its probe cannot change another message;
  where to look is kept with the row, ``outbox.unsure_since``).
- Anything unexpected while sending one notice backs that notice off, logged by its kind
  and where it happened; it never stops the round or other chats' notices.
- A withdrawal (``outbox.WITHDRAW``) deletes messages instead of sending one
  (``app/notices.py``).
- A notice whose person was erased while it was on its way (its record then changes nothing)
  is taken back from the chat (``service/take_back.py``).
- Several workers on one database (``worker_id`` set): rows are claimed with a lease instead
  of read, each chat's in order and paced across the workers (``service/delivery_claims.py``).
  Without it (one process, SQLite's embedded bot) nothing of that runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from datetime import datetime, timedelta

from app import notices, offers
from app.core import Core
from app.ports import (
    Channel,
    Moved,
    Progress,
    Refused,
    Retry,
    Sent,
    Unreachable,
)
from conversations.events import Address
from conversations.outbound import from_json
from service import metrics, moves, outcomes, take_back
from service.delivery_claims import Claims
from service.gate import Gate
from storage import outbox, outbox_outcomes
from storage.database import Write
from storage.models import OutboxStatus

log = logging.getLogger(__name__)

#: The most notices one round takes from the outbox.
ROUND_SIZE = 200
#: Several workers: the shortest wait before asking again after a round that claimed nothing
#: while notices were due (they are another worker's, or their chat's second is not up).
SHARED_RECHECK = 0.05


class DeliveryWorker:
    """Sends pending outbox rows; one per running bot."""

    def __init__(
        self,
        core: Core,
        *,
        concurrency: int = 8,
        per_chat_interval: float = 1.0,
        poll_interval: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        """``worker_id``: this worker's name when several share the outbox (None: the only one)."""
        self._core = core
        self._claims = (
            None
            if worker_id is None
            else Claims(core.db, worker_id, core.clock, pace=per_chat_interval)
        )
        self._concurrency = concurrency
        self._per_chat_interval = per_chat_interval
        self._poll_interval = poll_interval
        self._clock = core.clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_send: dict[Address, float] = {}
        self._paused_until = 0.0
        # The background loop and drain() must never send the same row twice at once.
        self._round = asyncio.Lock()
        self._woken = 0  # how many times wake() was called: drain's sign of new notices
        # What went out of a row whose record could not be written (the database failed):
        # its next attempt records it instead of sending it again.
        self._held: dict[int, Progress] = {}
        self._warned: set[Address] = set()  # chats whose move was announced
        #: Counts for tests and benchmarks.
        self.sent = 0
        self.retried = 0
        self.failed = 0

    def wake(self) -> None:
        """Say that new notices were committed."""
        self._woken += 1
        self._wake.set()

    def start(self) -> None:
        """Start sending in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox-delivery")

    async def close(self) -> None:
        """Stop sending (what is pending stays pending for the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self) -> None:
        """Send everything that is due now, including what sending it causes (tests, demo)."""
        while True:
            woken = self._woken
            handled = await self.run_once()
            # A round that took fewer rows than it may, with no notice committed meanwhile
            # (what sending causes is committed and announced through wake()), left nothing
            # due: no need to ask the database again.
            if handled == 0:
                return
            # After a 429 the next round waits out the pause and sends what it held back.
            paused = self._paused_until > time.monotonic()
            if handled < ROUND_SIZE and self._woken == woken and not paused:
                return

    async def run_once(self) -> int:
        """Send one round of due notices; return how many rows were handled."""
        async with self._round:
            if self._claims is None:
                return await self._round_once()
            wait = self._paused_until - time.monotonic()
            if wait > 0:  # before claiming: a claim is not held through a 429's pause
                await asyncio.sleep(wait)
            rows = await self._claims.take(ROUND_SIZE)
            if not rows:
                return 0
            async with self._claims.holding():
                return await self._round_once(rows)

    async def _round_once(self, rows: list[outbox.Pending] | None = None) -> int:
        if rows is None:
            wait = self._paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._core.db.read() as tx:
                rows = await outbox.due(tx, now=self._clock(), limit=ROUND_SIZE)
            if not rows:
                return 0
        by_chat: dict[Address, list[outbox.Pending]] = {}
        for row in rows:
            by_chat.setdefault(row.chat, []).append(row)
        gate = Gate(self._concurrency)

        async def serve(chat_rows: list[outbox.Pending]) -> None:
            for index, row in enumerate(chat_rows):
                # A chat waiting for its turn holds no slot: other chats' notices go meanwhile.
                await self._pace(row.chat)
                async with gate.turn(len(chat_rows) - index):
                    if not await self._send(row):
                        break  # keep this chat's order: the rest waits for the retry

        if len(by_chat) == 1:  # the common case: no tasks to spread the work over
            await serve(rows)
        else:
            # Every chat's task ends before the round does, whatever happens in one of them:
            # a task left running would send its rows again in the next round.
            served = await asyncio.gather(
                *(serve(chat_rows) for chat_rows in by_chat.values()), return_exceptions=True
            )
            for outcome in served:
                if isinstance(outcome, Exception):  # pragma: no cover - _send catches all
                    log.error("outbox: a chat's round failed: %s", type(outcome).__name__)
        return len(rows)

    async def _loop(self) -> None:
        while True:
            try:
                handled = await self.run_once()
                timeout = await self._until_next_due()
                if self._claims is not None and not handled:
                    # What is due is not this worker's to take yet: no busy asking.
                    floor = max(self._per_chat_interval, SHARED_RECHECK)
                    timeout = max(timeout, min(self._poll_interval, floor))
            except Exception:  # the worker must outlive any one failure
                log.exception("outbox delivery round failed")
                timeout = self._poll_interval
            # asyncio.timeout rather than wait_for: on 3.11, cancelling a wait_for that is
            # itself cancelling its inner wait can hang, and close() cancels this loop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()

    async def _until_next_due(self) -> float:
        async with self._core.db.read() as tx:
            due_at = await outbox.next_due(tx)
        if due_at is None:
            return self._poll_interval
        if due_at.tzinfo is None:  # SQLite gives back naive UTC times
            due_at = due_at.replace(tzinfo=self._clock().tzinfo)
        return max(0.0, min(self._poll_interval, (due_at - self._clock()).total_seconds()))

    async def _pace(self, chat: Address) -> None:
        """Wait until ``per_chat_interval`` has passed since the chat's last notice arrived."""
        last = self._last_send.get(chat)
        if last is not None:
            wait = last + self._per_chat_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

    async def _deliver(self, channel: Channel, row: outbox.Pending, progress: Progress) -> Sent:
        try:
            if row.kind == outbox.WITHDRAW:
                withdrawal = notices.Withdrawal.from_json(row.body)
                counts = await notices.carry_out(channel, row.chat, withdrawal)
                log.info(
                    "outbox %d: %d messages deleted, %d kept by the channel (redacted),"
                    " %d unreachable",
                    row.id,
                    *counts.values(),
                )
                return Sent(None)
            message = from_json(row.body)
            if not progress.started:  # the common case: nothing to tell the channel
                return await channel.send(row.chat, message)
            return await channel.send(row.chat, message, progress=progress)
        finally:
            # Counted from the channel's answer, not from the request: a rate limiter may hold
            # a request for a while, and it is arrivals in the chat that must be spaced.
            self._last_send[row.chat] = now = time.monotonic()
            if len(self._last_send) > 10_000:  # forget chats not heard from in a while
                horizon = now - self._per_chat_interval
                self._last_send = {c: t for c, t in self._last_send.items() if t > horizon}

    async def _send(self, row: outbox.Pending) -> bool:
        """Send one row; True when the chat's next row may follow."""
        try:
            return await self._send_row(row)
        except Exception as error:  # one row's trouble must not stop the others
            seconds = _backoff(row.attempts)
            # Its kind and where it happened: an exception's text may hold personal data.
            frame = traceback.extract_tb(error.__traceback__)[-1:]
            where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
            log.error(
                "outbox %d: unexpected %s (at %s), retrying in %.0f s",
                row.id,
                type(error).__name__,
                where,
                seconds,
            )
            try:
                await self._record(
                    outbox_outcomes.retried(outbox_id=row.id, due_at=self._due(seconds))
                )
            except Exception as again:
                log.error(
                    "outbox %d: its retry could not be kept: %s", row.id, type(again).__name__
                )
            self.retried += 1
            metrics.send_result(row.chat.channel, row.kind, "retry")
            return False  # keep this chat's order: the rest waits for the retry

    async def _send_row(self, row: outbox.Pending) -> bool:
        channel = self._core.channels.get(row.chat.channel)
        if channel is None:
            log.warning("outbox %d: no channel %s is configured", row.id, row.chat.channel)
            await self._give_up(row, OutboxStatus.UNREACHABLE, Progress())
            return True
        progress = self._held.get(row.id) or Progress(
            Sent(row.message_id, row.location_message_id, row.copies),
            row.unsure,
            row.unsure_since,
        )
        try:
            # Parts already out are not sent again (those of a record that failed included).
            sent = await self._deliver(channel, row, progress)
        except Moved as moved:
            await self._follow(row, moved.to)
            return False
        except Unreachable as error:
            log.info("outbox %d: chat unreachable (%s)", row.id, row.kind)
            await self._give_up(row, OutboxStatus.UNREACHABLE, error.progress, channel)
            return True
        except Refused as error:
            # The reason names what was wrong, never what was in the message.
            log.warning("outbox %d: refused (%s): %s", row.id, row.kind, error)
            await self._give_up(row, OutboxStatus.FAILED, error.progress, channel)
            return True
        except Retry as error:
            if error.after is not None:
                seconds = error.after
                log.warning("outbox %d: rate limited, retrying in %.0f s", row.id, seconds)
                self._paused_until = max(self._paused_until, time.monotonic() + seconds)
                metrics.rate_limited(row.chat.channel)
            else:
                seconds = _backoff(row.attempts)
                log.warning("outbox %d: %s, retrying in %.0f s", row.id, error, seconds)
            await self._retry(row, seconds, error.progress, channel)
            return False
        self._held[row.id] = Progress(sent)  # until its record is written
        recorded = bool((await self._record(outcomes.delivered(row, sent)))[0])
        del self._held[row.id]
        self.sent += 1
        metrics.send_result(row.chat.channel, row.kind, "sent")
        if not recorded and take_back.carries_data(row):
            # The customer was erased while this was on its way: it goes the same way.
            await take_back.take_back(channel, row, sent)
        return True

    async def _after_attempt(
        self,
        row: outbox.Pending,
        progress: Progress,
        then: list[Write],
        channel: Channel | None,
    ) -> None:
        """Record what the attempt sent (if anything) with ``then``, in one transaction."""
        if not progress.started:
            await self._record(then)
            return
        self._held[row.id] = progress
        kept = bool((await self._record(outcomes.attempted(row, progress) + then))[0])
        del self._held[row.id]
        if not kept and channel is not None and take_back.carries_data(row):
            await take_back.take_back(channel, row, progress.sent)

    async def _record(self, writes: list[Write]) -> list[int]:
        """Write an outcome (shared: only while this worker still holds the row)."""
        if self._claims is None:
            return await self._core.db.write(writes)
        return await self._claims.record(writes)

    def _due(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)

    async def _retry(
        self, row: outbox.Pending, seconds: float, progress: Progress, channel: Channel
    ) -> None:
        self.retried += 1
        metrics.send_result(row.chat.channel, row.kind, "retry")
        then = outbox_outcomes.retried(outbox_id=row.id, due_at=self._due(seconds))
        await self._after_attempt(row, progress, then, channel)

    async def _give_up(
        self,
        row: outbox.Pending,
        status: OutboxStatus,
        progress: Progress,
        channel: Channel | None = None,
    ) -> None:
        self.failed += 1
        metrics.send_result(row.chat.channel, row.kind, str(status))
        then = outbox_outcomes.given_up(outbox_id=row.id, status=status)
        await self._after_attempt(row, progress, then, channel)
        if row.kind == "offer" and row.offer_id is not None:
            # The offer's notice cannot reach the technician: the next one is offered at once.
            await offers.offer_lapsed(self._core, row.offer_id)

    async def _follow(self, row: outbox.Pending, new: Address) -> None:
        """The chat moved: keep where, send its notices there, address the operators there."""
        await moves.follow(self._core, row.chat, new, self._warned)
        self.wake()  # its notices are due at once, at the new address


def _backoff(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones (exponential, capped)."""
    return min(2.0**attempts, outbox.MAX_BACKOFF.total_seconds())
