"""Opening and closing what a running bot needs: key, database, migrations, sessions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.dispatch import Contacts, Dispatcher, Notifier
from storage import migrate
from storage.checkpoint import Checkpointer
from storage.crypto import WrongKeyError, install_keyring
from storage.engine import create_engine, sqlite_path
from storage.keys import load_keyring, verify_key
from storage.sessions import SessionStore
from storage.writes import Writes

log = logging.getLogger(__name__)


class StartupError(Exception):
    """An expected reason not to start (bad key, unreachable database); one line for stderr."""


@dataclass
class Runtime:
    """The database side of a running bot."""

    engine: AsyncEngine
    store: SessionStore
    dispatcher: Dispatcher
    writes: Writes
    checkpointer: Checkpointer | None = None
    worker: DeliveryWorker | None = None
    timers: asyncio.Task[None] | None = None

    def start_delivery(self, worker: DeliveryWorker, *, timer_interval: float = 5.0) -> None:
        """Send the outbox in the background, and move on from lapsed offers on time."""
        self.worker = worker
        self.dispatcher.outbox_ready = worker.wake
        worker.start()
        self.timers = asyncio.create_task(self._timers(timer_interval), name="offer-timers")

    async def _timers(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.dispatcher.expire_lapsed_offers()
            except Exception:  # the timer must outlive any one failure
                log.exception("offer timers failed")

    async def settle(self) -> None:
        """Deliver every notice that is due (tests and the demo call it after each update)."""
        if self.worker is not None:
            await self.worker.drain()

    async def close(self) -> None:
        """Stop delivery, flush sessions and close the database."""
        if self.timers is not None:
            self.timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.timers
        if self.worker is not None:
            await self.worker.close()
        await self.store.close()
        self.writes.close()
        await self.engine.dispose()
        if self.checkpointer is not None:
            await self.checkpointer.close()


async def open_database(settings: Settings) -> AsyncEngine:
    """Install the data key, open the database, apply migrations and check the key."""
    secret = settings.data_key.get_secret_value() if settings.data_key else None
    keyring, created = load_keyring(secret, settings.database_url)
    if created is not None:
        print(
            f"mistri-bot: created a new data key file at {created} (keep it safe)", file=sys.stderr
        )
    install_keyring(keyring)
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        await verify_key(engine, keyring)
    except WrongKeyError as error:
        await engine.dispose()
        raise StartupError(f"wrong data key for this database ({error})") from error
    except (OperationalError, DBAPIError, OSError) as error:
        await engine.dispose()
        raise StartupError(f"cannot open the database: {type(error).__name__}") from error
    return engine


async def open_runtime(settings: Settings, notifier: Notifier) -> Runtime:
    """Open the database and build the dispatcher."""
    engine = await open_database(settings)
    store = SessionStore(engine)
    await store.start()
    writes = Writes(engine)
    path = sqlite_path(settings.database_url)
    checkpointer = Checkpointer(path) if path else None
    if checkpointer is not None:
        checkpointer.start()
    contacts = Contacts(settings.admin_chat_id, settings.support_phone, settings.support_email)
    dispatcher = Dispatcher(
        engine=engine,
        store=store,
        writes=writes,
        notifier=notifier,
        contacts=contacts,
        offer_timeout=timedelta(minutes=settings.offer_timeout_minutes),
    )
    if checkpointer is not None:
        dispatcher.after_erasure = checkpointer.after_erasure
    return Runtime(engine, store, dispatcher, writes, checkpointer)
