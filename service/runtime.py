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
import os
import sys
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.request import BaseRequest, HTTPXRequest

from app import offers
from app.authority import Authority
from app.core import Contacts, Core
from app.flood import FloodGuard
from app.handle import handle
from app.locks import LocalLocks
from app.ports import Channel
from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel
from channels.telegram.copies import SETTLE
from channels.telegram.inbound import CHANNEL, address, to_inbound
from channels.telegram.polling import build_bot, set_menus
from service.config import Settings
from service.delivery import DeliveryWorker
from service.graph_http import BotApiRequest
from service.moves import follow_moves
from service.scheduler import Scheduler
from service.timers import Timers
from storage import migrate, replies
from storage.crypto import WrongKeyError, install_keyring
from storage.database import Database, sqlite_path
from storage.files import MissingDirectoryError
from storage.inuse import DatabaseInUse, InUse, acquire
from storage.keys import UnusableKeyError, has_key_check, key_file_path, load_keyring, verify_key
from storage.sessions import SessionStore

log = logging.getLogger(__name__)


class StartupError(Exception):
    """An expected reason not to start (bad key, unreachable database); one line for stderr."""


async def open_database(settings: Settings, *, in_use: InUse | None = None) -> Database:
    """Install the data key, open the database, apply migrations and check the key.

    The database stays marked in use by this process (a lock shared with every other user,
    across processes) until :meth:`Database.close`, so that ``keys rotate`` refuses to run
    meanwhile. ``in_use``: a lock the caller holds already and releases itself (the
    rotation's own, exclusive).
    """
    url = settings.database_url
    secret = settings.data_key.get_secret_value() if settings.data_key else None
    held = in_use
    db: Database | None = None
    try:
        if held is None:
            held = await acquire(url, exclusive=False)
        if secret is None and not key_file_path(url).exists() and not _new_sqlite_file(url):
            # No key file beside a database that may hold data: a new key must not replace
            # a lost one silently.
            db = Database.open(url)
            may_create = not await has_key_check(db.engine)
        else:
            may_create = True
        keyring, created = load_keyring(secret, url, may_create=may_create)
        if created is not None:
            print(
                f"mistri-bot: created a new data key file at {created} (keep it safe)",
                file=sys.stderr,
            )
        install_keyring(keyring)
        if db is None:
            db = Database.open(url)  # after the key: a key that cannot be made leaves no file
        await migrate.upgrade(db.engine)
        await verify_key(db.engine, keyring)
    except BaseException as error:
        if db is not None:
            await db.close()
        if held is not None and held is not in_use:
            await held.release()
        reason = _startup_reason(error)
        if reason is None:
            raise
        raise StartupError(reason) from error
    if held is not in_use:
        db.on_close.append(held.release)  # held as long as the database is open
    return db


def _new_sqlite_file(url: str) -> bool:
    """Tell whether ``url`` is a SQLite file not made yet (or empty): it holds no data."""
    path = sqlite_path(url)
    if path is None:
        return False
    try:
        return os.stat(path).st_size == 0
    except FileNotFoundError:
        return True


def _startup_reason(error: BaseException) -> str | None:
    """The one line for an expected reason not to start (None: not an expected one)."""
    if isinstance(error, WrongKeyError):
        return f"wrong data key for this database ({error})"
    if isinstance(error, UnusableKeyError):
        return str(error)
    if isinstance(error, DatabaseInUse):
        return "keys rotate is running on this database: start again once it has finished"
    if isinstance(error, MissingDirectoryError):
        return f"cannot open the database: {error}"
    if isinstance(error, (OperationalError, DBAPIError, OSError)):
        return f"cannot open the database: {type(error).__name__}"
    return None


#: The longest each part may take to stop once the events' grace is over, in seconds (3 s in
#: all): handlers and sends cut off, the last session writes, the last checkpoint.
CLOSE_TIMEOUTS = {
    "events": 0.5,
    "timers": 0.25,
    "delivery": 0.25,
    "sessions": 1.0,  # on PostgreSQL, the last group commit
    "bot": 0.25,
    "database": 0.75,
}


async def _bounded(part: str, closing: Awaitable[None], seconds: float) -> None:
    """Await ``closing``, for ``seconds`` at most; a failure or a hang is logged, not raised."""
    try:
        async with asyncio.timeout(seconds):
            await closing
    except TimeoutError:
        log.warning("stopping: %s did not stop within %.1f s; left as it is", part, seconds)
    except Exception as error:  # the other parts must still be closed
        log.warning("stopping: %s failed (%s)", part, type(error).__name__)


async def _nothing() -> None:
    """Close a part that is not there."""


@dataclass
class Runtime:
    """The parts of a running bot, and the ways updates come in."""

    core: Core
    #: The Telegram bot (None in a ``serve`` process without a Telegram token).
    telegram: MistriBot | None
    worker: DeliveryWorker
    timers: Timers
    scheduler: Scheduler

    @property
    def bot(self) -> MistriBot:
        """The Telegram bot (of a runtime started with a token)."""
        if self.telegram is None:
            raise RuntimeError("this runtime has no Telegram channel")
        return self.telegram

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
        self._saw(update)
        event = to_inbound(update, self.core.contacts.operators)
        if event is not None:
            await handle(self.core, event)

    def submit(self, update: Update) -> None:
        """Queue one Telegram update: the person's earlier ones first, others side by side."""
        self._saw(update)
        event = to_inbound(update, self.core.contacts.operators)
        if event is not None:
            self.scheduler.submit(event)

    def _saw(self, update: Update) -> None:
        # The message ids an update shows: a probe for copies never lands on them.
        channel = self.core.channels.get(CHANNEL)
        if isinstance(channel, TelegramChannel):
            channel.saw(update)

    async def settle(self) -> None:
        """Deliver every notice that is due (tests and the demo call it after each update)."""
        await self.worker.drain()

    async def close(self, *, grace: float = 5.0) -> None:
        """Finish the events in hand (up to ``grace`` seconds), then stop everything.

        Bounded in time whatever hangs (a handler, the Bot API, the database): events still
        waiting after ``grace`` are dropped, and each part then gets at most its share of
        :data:`CLOSE_TIMEOUTS`. What was committed stays committed: a notice cut off is sent
        after the restart.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.scheduler.drain()
        if self.scheduler.waiting:
            # Counts only: their updates were fetched, and Telegram will not send them again.
            log.warning(
                "stopping with %d events of %d people not handled within %.0f s",
                self.scheduler.waiting,
                self.scheduler.active,
                grace,
            )
        parts = {
            "events": self.scheduler.close,
            "timers": self.timers.stop,
            "delivery": self.worker.close,
            "sessions": self.core.sessions.close,
            "bot": self.telegram.shutdown if self.telegram is not None else _nothing,
            "database": self.core.db.close,
        }
        for part, closing in parts.items():
            await _bounded(part, closing(), CLOSE_TIMEOUTS[part])


async def start(
    settings: Settings,
    *,
    token: str | None,
    channels: Mapping[str, Channel] | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
    concurrency: int = 256,
    announce: bool = False,
    retention: bool | None = None,
    chat_interval: float | None = None,
    flood_cap: bool | None = None,
    worker_id: str | None = None,
) -> Runtime:
    """Open and start a bot; ``request`` replaces the HTTP client (the demo, tests: offline).

    ``token`` None: no Telegram channel (``serve`` with WhatsApp only); ``channels``: the
    other channels, by name (``serve``'s WhatsApp). ``announce`` sets the bot's command
    menus; ``retention`` runs the daily retention pass
    (by default only with the real HTTP client, as in ``mistri-bot run``); so does
    ``flood_cap``, the per-person rate cap (``MISTRI_FLOOD_BURST``, ``MISTRI_FLOOD_RATE``).
    ``worker_id``: this process's name when other processes serve the same database
    (``serve`` on PostgreSQL, ``service.shared.worker_id``): nothing is kept in memory that
    they could change behind this one's back (no session cache, no probe for copies of a
    Telegram message), the outbox is claimed row by row and the clocks run in one worker at a
    time; None (one process) keeps the single-process path.
    """
    if chat_interval is None:
        # Telegram's "about one message per second per chat" for the outbox; offline (the
        # demo, tests, benchmarks) there is no Telegram to be polite to.
        chat_interval = 1.0 if request is None else 0.0
    if retention is None:
        # The demo, tests and benchmarks run offline on throwaway data: no erasing in them.
        retention = request is None
    if flood_cap is None:
        # Scripted conversations (the demo, tests) answer faster than any person types.
        flood_cap = request is None
    bot = None
    if token is not None:
        bot = build_bot(
            token,
            settings.telegram_base_url,
            # Sends wait their turn for a kept connection (service/graph_http.py); long
            # polling keeps a client of its own.
            request=request or BotApiRequest(),
            get_updates_request=get_updates_request or request or HTTPXRequest(),
            rate_limit=rate_limit,
        )
        await bot.initialize()  # getMe: a wrong token ends here, before anything else starts
    shared = worker_id is not None
    reaching: dict[str, Channel] = dict(channels or {})
    if bot is not None:
        # A second process sending as this bot makes the probe for copies unsafe
        # (channels/telegram/copies.py): off where the database is shared.
        # Offline (the demo, tests) the fake Bot API carries a request out at once or never.
        reaching[CHANNEL] = TelegramChannel(
            bot, find_copies=not shared, settle=SETTLE if request is None else 0.0
        )
    db = await open_database(settings)
    db.start()
    # Shared: another worker may change anyone's session; each load reads the table.
    sessions = SessionStore(db, cache_size=0) if shared else SessionStore(db)
    await sessions.start()
    operators = address(settings.admin_chat_id) if settings.admin_chat_id is not None else None
    core = Core(
        db=db,
        sessions=sessions,
        channels=reaching,
        lock=LocalLocks(),
        contacts=Contacts(
            operators, settings.support_phone, settings.support_email, settings.support_hours
        ),
        offer_timeout=timedelta(minutes=settings.offer_timeout_minutes),
        max_open_orders=settings.max_open_orders,
        authority=Authority(settings.operators()),
        flood=FloodGuard(burst=settings.flood_burst, rate=settings.flood_rate)
        if flood_cap
        else None,
    )
    worker = DeliveryWorker(core, per_chat_interval=chat_interval, worker_id=worker_id)
    core.wake_outbox = worker.wake
    worker.start()
    timers = Timers(
        core, retention_days=settings.retention_days, retention=retention, holder=worker_id
    )
    scheduler = Scheduler(lambda event: handle(core, event), concurrency=concurrency)
    runtime = Runtime(core, bot, worker, timers, scheduler)
    # A group that became a supergroup is addressed where it is now, before the first update.
    await follow_moves(core)
    # Orders a crash left between their commit and their offer, and offers that lapsed while
    # the bot was down, are taken up before the first update.
    await offers.resume_stalled(core)
    async with db.read() as tx:
        # Answers a stop left in the outbox: the chat's next answers queue behind them.
        core.backlog.update(await replies.chats_waiting(tx))
    timers.start()
    if announce and bot is not None:
        await set_menus(bot)
    return runtime
