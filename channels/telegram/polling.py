"""The bot object, its command menus, and long polling (``mistri-bot run``).

python-telegram-bot's :class:`~telegram.ext.Updater` fetches the updates (with its backoff on
network errors); each one is handed to ``receive`` as it comes. The process around it
(``service/``) owns the start-up: the database, the core, delivery and timers come first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Updater
from telegram.request import BaseRequest, HTTPXRequest

from channels.telegram.bot import MistriBot
from conversations.i18n import N_, translator

log = logging.getLogger(__name__)

#: The customer commands of the menu, in order; technicians' /jobs comes last.
MENU = (
    ("book", N_("Book a technician")),
    ("myorders", N_("Your orders")),
    ("mydata", N_("See and correct your data")),
    ("deleteme", N_("Erase your data")),
    ("privacy", N_("Privacy policy")),
    ("language", N_("বাংলা / English")),
    ("cancel", N_("Stop the current booking")),
    ("help", N_("Help")),
    ("jobs", N_("Technicians: your jobs")),
)
#: Updates the bot reads; everything else is not even fetched.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def menu(lang: str) -> list[BotCommand]:
    """Return the command menu in ``lang``."""
    t = translator(lang)
    return [BotCommand(name, t._(description)) for name, description in MENU]


async def set_menus(bot: MistriBot) -> None:
    """Set the command menu: Bengali by default, English for English-language users."""
    await bot.set_my_commands(menu("bn"))
    await bot.set_my_commands(menu("bn"), language_code="bn")
    await bot.set_my_commands(menu("en"), language_code="en")


def rate_limiter() -> AIORateLimiter:
    """Return the limiter of the bot's Bot API calls: Telegram's 30 messages/s, never above.

    Enforced here rather than discovered through 429s (429s still honour retry_after); about
    one message per second per chat is the delivery worker's part. AIORateLimiter's default
    bucket lets 30 go at once and then 30 a second, which is up to 59 in one second: a burst
    of 1 refilled 29 times a second never puts more than 30 in any second, even when requests
    reach Telegram a little unevenly (bench/dispatch.py).
    """
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 29, max_retries=3)


def build_bot(
    token: str,
    base_url: str,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
) -> MistriBot:
    """Build the bot; ``request`` replaces the HTTP client (the demo and tests: offline)."""
    return MistriBot(
        token,
        base_url=base_url,
        # A pool for sends, one connection for long polling.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=get_updates_request or request or HTTPXRequest(),
        rate_limiter=rate_limiter() if rate_limit else None,
    )


class Poller:
    """Long polling: every update fetched is handed to ``receive``, in order."""

    def __init__(self, bot: MistriBot, receive: Callable[[Update], None]) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._updater = Updater(bot=bot, update_queue=self._queue)
        self._receive = receive
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start fetching updates."""
        await self._updater.initialize()
        await self._updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        self._task = asyncio.create_task(self._hand_over(), name="telegram-updates")

    async def _hand_over(self) -> None:
        while True:
            update = await self._queue.get()
            if isinstance(update, Update):
                try:
                    self._receive(update)
                except Exception:  # one bad update must not stop the others
                    log.exception("an update could not be taken in")

    async def stop(self) -> None:
        """Stop fetching (every update fetched so far was handed over as it came)."""
        if self._updater.running:
            await self._updater.stop()
        await self._updater.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
