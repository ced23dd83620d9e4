"""``mistri-bot run``: the bot with long polling, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from channels.telegram.polling import Poller
from service.config import Settings
from service.runtime import start

log = logging.getLogger("mistri-bot")

#: How long events in hand may take to finish once a stop is asked for (the interface
#: promises a stop within 10 s).
STOP_GRACE = 5.0


async def run_polling(settings: Settings, token: str) -> int:
    """Run until a signal asks to stop; return the exit status."""
    runtime = await start(settings, token=token, announce=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    poller = Poller(runtime.bot, runtime.submit)
    try:
        await poller.start()
        log.info("starting long polling")
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await poller.stop()
        await runtime.close(grace=STOP_GRACE)
    log.info("stopped")
    return 0
