"""A running bot: the database, the core, the Telegram channel, delivery and timers.

:func:`start` opens everything in order (key, database and migrations, sessions, the core,
the delivery worker; orders a crash left waiting are offered before the first update) and
:meth:`Runtime.close` stops it the other way round. ``mistri-bot run`` adds long polling in
front; the demo, the tests and the benchmarks hand it updates themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.request import BaseRequest

from app import offers
from app.core import Contacts, Core
from app.handle import handle
from app.locks import LocalLocks
from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel
from channels.telegram.inbound import address, to_inbound
from channels.telegram.polling import build_bot, set_menus
from service.config import Settings
from service.delivery import DeliveryWorker
from service.scheduler import Scheduler
from service.timers import Timers
from storage import migrate
from storage.crypto import WrongKeyError, install_keyring
from storage.database import Database
from storage.keys import load_keyring, verify_key
from storage.sessions import SessionStore

log = logging.getLogger(__name__)


class StartupError(Exception):
    """An expected reason not to start (bad key, unreachable database); one line for stderr."""


async def open_database(settings: Settings) -> Database:
    """Install the data key, open the database, apply migrations and check the key."""
    secret = settings.data_key.get_secret_value() if settings.data_key else None
    keyring, created = load_keyring(secret, settings.database_url)
    if created is not None:
        print(
            f"mistri-bot: created a new data key file at {created} (keep it safe)", file=sys.stderr
        )
    install_keyring(keyring)
    db = Database.open(settings.database_url)
    try:
        await migrate.upgrade(db.engine)
        await verify_key(db.engine, keyring)
    except WrongKeyError as error:
        await db.close()
        raise StartupError(f"wrong data key for this database ({error})") from error
    except (OperationalError, DBAPIError, OSError) as error:
        await db.close()
        raise StartupError(f"cannot open the database: {type(error).__name__}") from error
    return db


@dataclass
class Runtime:
    """The parts of a running bot, and the ways updates come in."""

    core: Core
    bot: MistriBot
    worker: DeliveryWorker
    timers: Timers
    scheduler: Scheduler

    @property
    def db(self) -> Database:
        """The database."""
        return self.core.db

    @property
    def engine(self) -> AsyncEngine:
        """The database's engine (tests and tools that read rows as they are)."""
        return self.core.db.engine

    @property
    def sessions(self) -> SessionStore:
        """The conversation sessions."""
        return self.core.sessions

    async def process(self, update: Update) -> None:
        """Handle one Telegram update now, end to end (the demo, tests, benchmarks)."""
        event = to_inbound(update, self.core.contacts.operators)
        if event is not None:
            await handle(self.core, event)

    def submit(self, update: Update) -> None:
        """Queue one Telegram update: the person's earlier ones first, others side by side."""
        event = to_inbound(update, self.core.contacts.operators)
        if event is not None:
            self.scheduler.submit(event)

    async def settle(self) -> None:
        """Deliver every notice that is due (tests and the demo call it after each update)."""
        await self.worker.drain()

    async def close(self, *, grace: float = 5.0) -> None:
        """Finish the events in hand (up to ``grace`` seconds), then stop everything."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.scheduler.drain()
        await self.scheduler.close()
        await self.timers.stop()
        await self.worker.close()
        await self.core.sessions.close()
        with contextlib.suppress(Exception):
            await self.bot.shutdown()
        await self.core.db.close()


async def start(
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
) -> Runtime:
    """Open and start a bot; ``request`` replaces the HTTP client (the demo, tests: offline).

    ``announce`` sets the bot's command menus; ``retention`` runs the daily retention pass
    (by default only with the real HTTP client, as in ``mistri-bot run``).
    """
    if chat_interval is None:
        # Telegram's "about one message per second per chat" for the outbox; offline (the
        # demo, tests, benchmarks) there is no Telegram to be polite to.
        chat_interval = 1.0 if request is None else 0.0
    if retention is None:
        # The demo, tests and benchmarks run offline on throwaway data: no erasing in them.
        retention = request is None
    bot = build_bot(
        token,
        settings.telegram_base_url,
        request=request,
        get_updates_request=get_updates_request,
        rate_limit=rate_limit,
    )
    await bot.initialize()  # getMe: a wrong token ends here, before anything else starts
    db = await open_database(settings)
    db.start()
    sessions = SessionStore(db)
    await sessions.start()
    operators = address(settings.admin_chat_id) if settings.admin_chat_id is not None else None
    core = Core(
        db=db,
        sessions=sessions,
        channels={"telegram": TelegramChannel(bot)},
        lock=LocalLocks(),
        contacts=Contacts(operators, settings.support_phone, settings.support_email),
        offer_timeout=timedelta(minutes=settings.offer_timeout_minutes),
    )
    worker = DeliveryWorker(core, per_chat_interval=chat_interval)
    core.wake_outbox = worker.wake
    worker.start()
    timers = Timers(core, retention_days=settings.retention_days, retention=retention)
    scheduler = Scheduler(lambda event: handle(core, event), concurrency=concurrency)
    runtime = Runtime(core, bot, worker, timers, scheduler)
    # Orders a crash left between their commit and their offer, and offers that lapsed while
    # the bot was down, are taken up before the first update.
    await offers.resume_stalled(core)
    timers.start()
    if announce:
        await set_menus(bot)
    return runtime
