"""The bot object, its command menus, and long polling (``mistri-bot run``).

:class:`Poller` fetches the updates with ``getUpdates`` and hands each one to ``receive`` as
it comes. Its own loop rather than python-telegram-bot's ``Updater``, for three things the
Updater does not give: a refused token or a second poller on the same token (``409
Conflict``) ends polling with a reason (the Updater logs and retries a conflict forever, and
stops silently on a refused token); waits between attempts end the moment a stop is asked
for (the Updater sleeps out up to 30 s of back-off first); and the last call, which confirms
the updates fetched, is bounded in time. The process around it (``service/``) owns the
start-up: the database, the core, delivery and timers come first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import BotCommand, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter
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


#: Seconds a getUpdates long poll may wait at Telegram for an update before answering empty.
POLL_TIMEOUT = 10
#: The longest wait between two attempts while the Bot API cannot be reached, in seconds.
MAX_BACKOFF = 30.0
#: How long the last getUpdates, which confirms what was fetched, may take at a stop.
CONFIRM_TIMEOUT = 1.0


class PollingStopped(Exception):
    """Telegram will give this bot no updates: its token is refused, or another poller has it.

    The message is one line for an operator: what is wrong and what to do.
    """


#: What a refused token (401, or 404 for a path the server does not know) means. Never the
#: error's own text: python-telegram-bot puts the token in it.
REFUSED = (
    "the Bot API refused MISTRI_TELEGRAM_TOKEN (401 Unauthorized or 404 Not Found): copy the"
    " bot's token from @BotFather again (a revoked token stops working), and check"
    " MISTRI_TELEGRAM_BASE_URL if it is set"
)


#: A webhook is set for the token: long polling would take the updates away from it.
WEBHOOK_SET = (
    "a webhook is set for this bot token, so long polling cannot run: `mistri-bot serve`"
    " receives this bot's updates; stop it and delete the webhook, or use `serve` instead of"
    " `run`"
)


def conflict_reason(error: Conflict) -> str:
    """Say what a ``409 Conflict`` from getUpdates means, and what to do about it."""
    if "webhook" in error.message.lower():
        return (
            "a webhook is set for this bot token (409 Conflict), so long polling cannot run:"
            " stop `mistri-bot serve` for this token, or use it instead of `run`"
        )
    return (
        "another process is fetching this bot's updates (409 Conflict): stop the other"
        " `mistri-bot run` (or any other program using MISTRI_TELEGRAM_TOKEN) and start again"
    )


class Poller:
    """Long polling: every update fetched is handed to ``receive``, in order.

    Polling ends by itself only for a reason to stop the bot (:class:`PollingStopped`, seen
    through :meth:`wait`); network errors and 5xx answers are retried with back-off.
    """

    def __init__(
        self,
        bot: MistriBot,
        receive: Callable[[Update], None],
        *,
        timeout: int = POLL_TIMEOUT,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self._bot = bot
        self._receive = receive
        self._timeout = timeout
        self._max_backoff = max_backoff
        #: The id of the next update wanted; asking for it confirms every one before it.
        self._offset: int | None = None
        #: The offset of the last getUpdates Telegram answered (what it knows is confirmed).
        self._confirmed: int | None = None
        self._task: asyncio.Task[None] | None = None
        #: Telegram refused to give this bot updates: confirming would be refused too.
        self._refused = False

    async def start(self) -> None:
        """Start fetching updates.

        Raises:
            PollingStopped: a webhook is set for the token (`serve` receives its updates).
        """
        # Removing someone's webhook would silently take the updates away from `serve`: a
        # poller started beside it stops instead, in one line.
        if (await self._bot.get_webhook_info()).url:
            raise PollingStopped(WEBHOOK_SET)
        self._task = asyncio.create_task(self._poll(), name="telegram-updates")

    async def wait(self) -> None:
        """Wait until polling ends by itself.

        Raises:
            PollingStopped: the token was refused, or another poller holds it.
        """
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _poll(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=self._offset, timeout=self._timeout, allowed_updates=ALLOWED_UPDATES
                )
            except InvalidToken as error:
                self._refused = True
                raise PollingStopped(REFUSED) from error
            except Conflict as error:
                self._refused = True
                raise PollingStopped(conflict_reason(error)) from error
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error.retry_after))
                continue
            except TelegramError as error:  # network errors, timeouts, 5xx: Telegram comes back
                failures += 1
                await self._back_off(failures, f"{type(error).__name__}: {error}")
                continue
            except Exception as error:  # an answer that could not be read: ask again later
                failures += 1
                await self._back_off(failures, type(error).__name__)
                continue
            failures = 0
            self._confirmed = self._offset
            for update in updates:
                try:
                    self._receive(update)
                except Exception:  # one bad update must not stop the others
                    log.exception("an update could not be taken in")
            if updates:
                self._offset = updates[-1].update_id + 1

    async def _back_off(self, failures: int, reason: str) -> None:
        # At once after one failure (a long poll cut by the network), then 1, 1.5, 2.25... s.
        delay = 0.0 if failures == 1 else min(self._max_backoff, 1.5 ** (failures - 2))
        log.warning("fetching updates failed (%s); trying again in %.1f s", reason, delay)
        await asyncio.sleep(delay)

    async def stop(self) -> None:
        """Stop fetching now; tell Telegram the updates fetched were received, if it can be quick.

        Every update fetched so far was handed over as it came. The confirmation is the
        getUpdates that asks for the next one; it may take :data:`CONFIRM_TIMEOUT` seconds at
        most (Telegram slow or unreachable: those updates come again after a restart).
        """
        if self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, PollingStopped):
            await task
        if self._refused or self._offset is None or self._offset == self._confirmed:
            return
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                await self._bot.get_updates(
                    offset=self._offset, timeout=0, allowed_updates=ALLOWED_UPDATES
                )
            self._confirmed = self._offset
        except (TelegramError, TimeoutError) as error:
            log.warning(
                "could not confirm the last updates fetched (%s): Telegram may send them again",
                type(error).__name__,
            )


def _seconds(value: int | timedelta) -> float:
    """A ``retry_after`` in seconds (python-telegram-bot gives an int or a timedelta)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
