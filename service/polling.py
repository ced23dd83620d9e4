"""``mistri-bot run``: the bot with long polling, until SIGINT or SIGTERM.

A stop is bounded, as the interface promises (within 10 s of the signal), whatever is stuck:
fetching stops at once (its last call, which confirms the updates fetched, gets
``CONFIRM_TIMEOUT``), the events in hand get :data:`STOP_GRACE` seconds to finish, then what
is left is cancelled and each part closed within its own limit (``runtime.CLOSE_TIMEOUTS``,
3 s in all). Should anything still hold the process (a thread that will not end), a watchdog
ends it :data:`STOP_LIMIT` seconds after the signal; committed data is safe at any point,
as after a ``kill -9``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable
from typing import TypeVar

from channels.telegram.polling import Poller, PollingStopped
from service.config import Settings
from service.runtime import start

log = logging.getLogger("mistri-bot")

#: How long the events in hand may take to finish once a stop is asked for, in seconds.
STOP_GRACE = 4.0
#: Seconds after the signal (or the reason to stop) at which the process ends regardless.
STOP_LIMIT = 9.5
#: What the watchdog says, in one line, as it ends the process.
WATCHDOG_LINE = (
    b"mistri-bot: stopping took too long; ending the process now"
    b" (committed data is kept, pending notices go out after the restart)\n"
)

T = TypeVar("T")


def start_watchdog(limit: float = STOP_LIMIT) -> threading.Timer:
    """End the process with status 1 in ``limit`` seconds, unless it has ended by then.

    A thread, so nothing on the event loop can hold it up; ``os._exit`` because whatever
    failed to stop (a thread in a blocking call, an executor the interpreter waits for at
    exit) would also hold up an orderly exit.
    """

    def expire() -> None:
        os.write(2, WATCHDOG_LINE)
        os._exit(1)

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    timer.start()
    return timer


async def _unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> tuple[bool, T | None]:
    """Await ``work`` unless ``stop`` is set first (then ``work`` is cancelled).

    Returns (True, its result) when ``work`` finished first, (False, None) otherwise.
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False, None


async def run_polling(settings: Settings, token: str) -> int:
    """Run until a signal asks to stop; return the exit status.

    Raises:
        PollingStopped: Telegram refused the token, or another process polls with it (after
            a stop as bounded as a signal's).
    """
    stop = asyncio.Event()
    asked_at: list[float] = []
    loop = asyncio.get_running_loop()

    def ask_to_stop() -> None:
        if not stop.is_set():
            asked_at.append(time.monotonic())
            stop.set()
            start_watchdog()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, ask_to_stop)
    try:
        started, runtime = await _unless_stopped(stop, start(settings, token=token, announce=True))
        if not started or runtime is None:
            log.info("stopped during start-up")
            return 0
        poller = Poller(runtime.bot, runtime.submit)
        failure: PollingStopped | None = None
        try:
            await poller.start()
            log.info("starting long polling")
            await _unless_stopped(stop, poller.wait())
        except PollingStopped as error:
            failure = error
        finally:
            ask_to_stop()  # whatever ended polling, the same bounded stop as for a signal
            await poller.stop()
            await runtime.close(grace=STOP_GRACE)
        if failure is not None:
            raise failure
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("stopped %.1f s after the stop was asked for", time.monotonic() - asked_at[0])
    return 0
