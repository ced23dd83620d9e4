"""Wiring: a python-telegram-bot Application around the dispatcher."""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest, HTTPXRequest

from bot.adapter import TelegramNotifier, UpdateHandler
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.processor import PerUserUpdateProcessor
from bot.retention import schedule_retention
from bot.runtime import Runtime, open_runtime
from bot.telegram_bot import MistriBot
from conversations.i18n import N_, translator

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
RUNTIME_KEY = "runtime"


def menu(lang: str) -> list[BotCommand]:
    """Return the command menu in ``lang``."""
    t = translator(lang)
    return [BotCommand(name, t._(description)) for name, description in MENU]


def rate_limiter() -> AIORateLimiter:
    """Return the limiter of the bot's Bot API calls: Telegram's 30 messages/s, never above.

    Enforced here rather than discovered through 429s (429s still honour retry_after); about
    one message per second per chat is the delivery worker's part. AIORateLimiter's default
    bucket lets 30 go at once and then 30 a second, which is up to 59 in one second: a burst
    of 1 refilled 29 times a second never puts more than 30 in any second, even when requests
    reach Telegram a little unevenly (bench/dispatch.py).
    """
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 29, max_retries=3)


def build_application(
    settings: Settings,
    *,
    token: str,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
    concurrency: int = 256,
    announce: bool = False,
    retention: bool | None = None,
    chat_interval: float | None = None,
) -> Application:  # type: ignore[type-arg]
    """Build the Application: per-user ordered processing, rate limits, our one handler.

    ``request`` replaces the HTTP client (the demo, tests and benchmarks pass an offline one);
    ``announce`` sets the bot's command menus at start-up; ``retention`` schedules the daily
    retention job (by default only with the real HTTP client, as in ``mistri-bot run``).
    """
    if chat_interval is None:
        # Telegram's "about one message per second per chat" for the outbox; offline (the
        # demo, tests, benchmarks) there is no Telegram to be polite to.
        chat_interval = 1.0 if request is None else 0.0
    if retention is None:
        # The demo, tests and benchmarks run offline on throwaway data: no erasing in them.
        retention = request is None
    bot = MistriBot(
        token,
        base_url=settings.telegram_base_url,
        # As ApplicationBuilder would: a pool for replies, one connection for long polling.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=get_updates_request or request or HTTPXRequest(),
        rate_limiter=rate_limiter() if rate_limit else None,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerUserUpdateProcessor(concurrency))
        .post_init(_post_init(settings, announce, retention, chat_interval))
        .post_shutdown(_post_shutdown)
        .build()
    )
    return application


def _post_init(  # type: ignore[no-untyped-def]
    settings: Settings, announce: bool, retention: bool, chat_interval: float
):
    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        bot = application.bot
        assert isinstance(bot, MistriBot)
        runtime = await open_runtime(settings, TelegramNotifier(bot))
        dispatcher = runtime.dispatcher
        worker = DeliveryWorker(
            engine=runtime.engine,
            writes=runtime.writes,
            bot=bot,
            on_offer_undeliverable=dispatcher.offer_undeliverable,
            per_chat_interval=chat_interval,
        )
        runtime.start_delivery(worker)
        # Orders a crash left between their commit and their offer, and offers that lapsed
        # while the bot was down, are taken up before the first update.
        await dispatcher.resume()
        application.bot_data[RUNTIME_KEY] = runtime
        application.add_handler(TypeHandler(Update, UpdateHandler(runtime.dispatcher)))
        if retention:
            schedule_retention(application, runtime, retention_days=settings.retention_days)
        if announce:
            await set_menus(application)

    return post_init


async def start_offline(application: Application) -> Runtime:  # type: ignore[type-arg]
    """Initialise an Application that is driven by ``process_update`` rather than polling."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    return runtime


async def stop_offline(application: Application) -> None:  # type: ignore[type-arg]
    """Shut down an Application started with :func:`start_offline`."""
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    runtime: Runtime | None = application.bot_data.pop(RUNTIME_KEY, None)
    if runtime is not None:
        await runtime.close()


async def set_menus(application: Application) -> None:  # type: ignore[type-arg]
    """Set the command menu: Bengali by default, English for English-language users."""
    await application.bot.set_my_commands(menu("bn"))
    await application.bot.set_my_commands(menu("bn"), language_code="bn")
    await application.bot.set_my_commands(menu("en"), language_code="en")
