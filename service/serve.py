"""``mistri-bot serve``: the bot behind webhooks, as an ASGI app on ``MISTRI_LISTEN``.

The routes (``docs/`` and the operating interface): ``POST /telegram`` (updates, with the
secret token header), ``GET /whatsapp`` (Meta's verification), ``POST /whatsapp`` (updates,
signed), ``GET /healthz``, ``GET /metrics`` (``service/metrics.py``). Every update is stored
in the inbox before its 200 and handled from there (``service/webhooks.py``,
``service/intake.py``). With ``MISTRI_PUBLIC_URL`` set, start-up points Telegram's webhook
at ``<url>/telegram``; without it the webhook is left as it is (set by hand, or by another
worker).

The process opens the runtime first (key, database and migrations, the core, delivery,
timers, the pending inbox), so that a wrong key or an unreachable database is one line and
the port opens only once everything is ready; uvicorn then serves the app, whose lifespan
holds the runtime. Used on its own (tests, another ASGI server) the app's lifespan opens the
runtime itself. SIGINT/SIGTERM stop it within 10 s, as ``run``: the listener closes, the
events in hand get :data:`~service.polling.STOP_GRACE` seconds, and what is left stays in the
inbox for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.request import BaseRequest

from channels.telegram.channel import TelegramChannel
from channels.telegram.inbound import CHANNEL as TELEGRAM
from channels.telegram.inbound import to_inbound as telegram_inbound
from channels.telegram.polling import ALLOWED_UPDATES
from channels.whatsapp.channel import WhatsAppChannel
from channels.whatsapp.inbound import CHANNEL as WHATSAPP
from channels.whatsapp.inbound import statuses as read_statuses
from channels.whatsapp.inbound import to_inbounds
from conversations.events import Address, Inbound
from service import metrics, statuses
from service.config import Settings, WhatsAppSettings, listen_address
from service.graph_http import graph_client
from service.intake import Intake, Reader
from service.polling import STOP_GRACE, start_watchdog
from service.runtime import Runtime, StartupError, start
from service.shared import worker_id
from service.webhooks import TelegramWebhook, WhatsAppWebhook, healthz
from storage import sessions
from storage.database import Database, is_sqlite

log = logging.getLogger("mistri-bot")

#: Seconds open connections get to finish once a stop is asked for (then they are cut).
CONNECTIONS_GRACE = 1.0
#: Timeout of a Graph API request, in seconds.
GRAPH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Connections Telegram may open at once to POST /telegram (setWebhook's max_connections,
#: 1-100, Telegram's default 40): each worker stores and answers in milliseconds.
WEBHOOK_MAX_CONNECTIONS = 40


class ServeRefused(Exception):
    """A reason not to serve, said in one line (bad ``--workers``, nothing to serve)."""


@dataclass
class Served:
    """A running ``serve``: the runtime, the inbox's intake, the channels' webhook settings.

    ``telegram_secret``: the secret POST /telegram must carry (None: no Telegram channel).
    """

    runtime: Runtime
    intake: Intake
    whatsapp: WhatsAppSettings | None
    telegram_secret: str | None = None

    @property
    def db(self) -> Database:
        """The database."""
        return self.runtime.db


def check(settings: Settings, workers: int) -> None:
    """Refuse, in one line, what ``serve`` cannot do with these settings.

    Raises:
        ServeRefused: the reason.
    """
    if workers < 1:
        raise ServeRefused(f"--workers must be 1 or more (got {workers})")
    if workers > 1 and is_sqlite(settings.database_url):
        raise ServeRefused(
            "several workers need PostgreSQL: set MISTRI_DATABASE_URL=postgresql+asyncpg://"
            "user:password@host/dbname (a SQLite file is served by one process)"
        )
    if settings.admin_chat_id is None:
        raise ServeRefused(
            "MISTRI_ADMIN_CHAT_ID is not set (the operators' Telegram chat id, e.g."
            " -1001234567890)"
        )
    if settings.telegram_token is not None and settings.webhook_secret is None:
        raise ServeRefused(
            "MISTRI_WEBHOOK_SECRET is not set: serve with a Telegram token needs it (1-256"
            " letters, digits, _ or -, e.g. from `openssl rand -hex 32`) to check POST /telegram"
        )
    if settings.whatsapp() is None and settings.telegram_token is None:
        raise ServeRefused(
            "nothing to serve: set MISTRI_TELEGRAM_TOKEN and MISTRI_WEBHOOK_SECRET for Telegram,"
            " or MISTRI_WHATSAPP_TOKEN, MISTRI_WHATSAPP_PHONE_NUMBER_ID,"
            " MISTRI_WHATSAPP_APP_SECRET and MISTRI_WHATSAPP_VERIFY_TOKEN for WhatsApp"
        )


def whatsapp_reader(runtime: Runtime, *, recheck: float = statuses.RECHECK) -> Reader:
    """How stored WhatsApp updates are read: messages as events; statuses are applied.

    ``recheck``: how long a failed status for a message not recorded yet waits once.
    """

    def event(body: dict[str, Any]) -> Inbound | None:
        found = to_inbounds(body)
        return found[0][1] if found else None

    async def apply_statuses(body: dict[str, Any]) -> None:
        # A failure that means "cannot reach" marks the row and moves an offer on.
        await statuses.apply(runtime.core, read_statuses(body), recheck=recheck)

    return Reader(event=event, other=apply_statuses)


def telegram_reader(runtime: Runtime) -> Reader:
    """How stored Telegram updates are read: as the poller's are, into the core's events."""
    channel = runtime.core.channels.get(TELEGRAM)

    def event(body: dict[str, Any]) -> Inbound | None:
        update = Update.de_json(body, runtime.bot)
        if isinstance(channel, TelegramChannel):
            # The message ids an update shows, before it is handled, as `run` notes them:
            # a probe for copies never lands on them.
            channel.saw(update)
        return telegram_inbound(update, runtime.core.contacts.operators)

    return Reader(event=event)


async def point_webhook(runtime: Runtime, settings: Settings) -> None:
    """Point Telegram's webhook at ``<MISTRI_PUBLIC_URL>/telegram``, with the secret."""
    secret = settings.webhook_secret
    if settings.public_url is None or secret is None or runtime.telegram is None:
        return
    await runtime.bot.set_webhook(
        url=f"{settings.public_url}/telegram",
        secret_token=secret.get_secret_value(),
        allowed_updates=ALLOWED_UPDATES,
        max_connections=WEBHOOK_MAX_CONNECTIONS,
    )
    log.info("Telegram's webhook is set to MISTRI_PUBLIC_URL/telegram")


@contextlib.asynccontextmanager
async def opened(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    offline: bool = False,
    concurrency: int = 256,
    telegram_request: BaseRequest | None = None,
    shared: bool | None = None,
    intake_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Served]:
    """Open the runtime with the configured channels, and the intake with what is pending.

    ``transport``: the Graph API's (tests: the fake's); ``offline``: tests, no pacing, no
    retention, no flood cap, as the runtime's offline mode; ``telegram_request``: the Bot
    API's (tests: the fake Bot API's offline request). ``shared``: other processes may
    serve the same database (None: on PostgreSQL always, on a SQLite file never), so the
    inbox is shared by claims and nothing that another worker could change is cached;
    ``intake_options``: the intake's lease and sweeps (tests).
    """
    if shared is None:
        shared = not is_sqlite(settings.database_url)
    # This worker's name in the inbox's and the outbox's claims and the jobs' leases.
    name = worker_id() if shared else None
    whatsapp = settings.whatsapp()
    client = graph_client(GRAPH_TIMEOUT, transport=transport)
    try:
        channels: dict[str, WhatsAppChannel] = {}
        if whatsapp is not None:
            channels[WHATSAPP] = WhatsAppChannel(
                client,
                token=whatsapp.token.get_secret_value(),
                phone_number_id=whatsapp.phone_number_id,
                api_url=whatsapp.api_url,
                templates=whatsapp.templates,
            )
        token = settings.telegram_token
        runtime = await start(
            settings,
            token=token.get_secret_value() if token is not None else None,
            channels=channels,
            request=telegram_request,
            # Offline (tests, benchmarks) there is no Telegram to be polite to.
            rate_limit=telegram_request is None and not offline,
            concurrency=concurrency,
            announce=not offline and token is not None,
            retention=not offline,
            chat_interval=0.0 if offline else 1.0,
            flood_cap=not offline,
            worker_id=name,
        )
    except BaseException:
        await client.aclose()
        raise
    if WHATSAPP in channels:
        db = runtime.core.db

        async def last_heard(wa_id: str) -> datetime | None:
            return await sessions.last_written(db, Address(WHATSAPP, wa_id))

        # The window is judged from the database, where every worker's sessions are.
        channels[WHATSAPP].last_heard = last_heard
    recheck = 0.0 if offline else statuses.RECHECK
    readers = {WHATSAPP: whatsapp_reader(runtime, recheck=recheck)} if whatsapp is not None else {}
    secret = settings.webhook_secret
    if token is not None and secret is not None:
        readers[TELEGRAM] = telegram_reader(runtime)
    intake = Intake(
        runtime.core,
        readers,
        concurrency=concurrency,
        purge=not offline,
        worker=name,
        **(intake_options or {}),
    )
    try:
        await intake.start()
        await point_webhook(runtime, settings)
        yield Served(
            runtime,
            intake,
            whatsapp,
            secret.get_secret_value() if token is not None and secret is not None else None,
        )
    finally:
        await intake.close(grace=0.0 if offline else STOP_GRACE)
        await runtime.close(grace=0.0)
        await client.aclose()


def build_app(open_served: Callable[[], AbstractAsyncContextManager[Served]]) -> Starlette:
    """The ASGI app; its lifespan enters ``open_served()`` and serves what it yields."""
    live: list[Served] = []

    def served() -> Served:
        return live[0]

    def parts() -> tuple[Database, Intake]:
        return served().db, served().intake

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_served() as ready:
            live.append(ready)
            try:
                yield
            finally:
                live.clear()

    async def health(request: Request) -> Response:
        return await healthz(served().db)

    async def metrics_get(request: Request) -> Response:
        return await metrics.exposition(served().db)

    async def whatsapp_get(request: Request) -> Response:
        return await hook().verify(request)

    async def whatsapp_post(request: Request) -> Response:
        return await hook().receive(request)

    telegram_hooks: list[TelegramWebhook] = []

    async def telegram_post(request: Request) -> Response:
        if not telegram_hooks:
            secret = served().telegram_secret
            if secret is None:  # no Telegram channel in this process
                return Response(status_code=404)
            telegram_hooks.append(TelegramWebhook(secret=secret, served=parts))
        return await telegram_hooks[0].receive(request)

    hooks: list[WhatsAppWebhook] = []

    def hook() -> WhatsAppWebhook:
        if not hooks:
            settings = served().whatsapp
            assert settings is not None  # the route exists only with WhatsApp configured
            hooks.append(
                WhatsAppWebhook(
                    app_secret=settings.app_secret.get_secret_value(),
                    verify_token=settings.verify_token.get_secret_value(),
                    served=parts,
                )
            )
        return hooks[0]

    routes = [
        Route("/healthz", health, methods=["GET"]),
        Route("/whatsapp", whatsapp_get, methods=["GET"]),
        Route("/whatsapp", whatsapp_post, methods=["POST"]),
        Route("/telegram", telegram_post, methods=["POST"]),
        # Not for the internet: the reverse proxy passes /telegram and /whatsapp only.
        Route("/metrics", metrics_get, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


class _Server(uvicorn.Server):
    """uvicorn with our stop: its own signal handling is replaced by :func:`serve`'s."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Leave signals to :func:`serve` (uvicorn's would re-raise them on the way out)."""
        yield


async def serve(settings: Settings, *, workers: int = 1) -> int:
    """Serve until SIGINT or SIGTERM in this process; return the exit status.

    Several workers are ``service.workers.serve_workers``'; this is the one-process path.

    Raises:
        ServeRefused: the settings do not allow it.
        StartupError: the runtime could not start (wrong key, database unreachable).
    """
    check(settings, workers)
    if workers != 1:
        raise ServeRefused("serve() runs one worker; several are service.workers'")
    host, port = listen_address(settings.listen)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    asked_at: list[float] = []
    server: list[_Server] = []

    def ask_to_stop() -> None:
        if stop.is_set():
            return
        asked_at.append(time.monotonic())
        stop.set()
        start_watchdog()
        for one in server:
            one.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, ask_to_stop)
    try:
        async with opened(settings) as ready:
            if stop.is_set():
                log.info("stopped during start-up")
                return 0
            config = uvicorn.Config(
                build_app(lambda: contextlib.nullcontext(ready)),
                host=host,
                port=port,
                lifespan="on",
                log_config=None,  # ours (service/logs.py): scrubbed, one format
                access_log=False,  # a verification's query string holds the verify token
                timeout_graceful_shutdown=int(CONNECTIONS_GRACE),
                server_header=False,
            )
            server.append(_Server(config))
            routes = {"/telegram": ready.telegram_secret, "/whatsapp": ready.whatsapp}
            hooks = [name for name, on in routes.items() if on is not None]
            log.info("serving on %s:%d (webhooks at %s)", host, port, " and ".join(hooks))
            try:
                await server[0].serve()
            except SystemExit:  # uvicorn's way of saying it could not listen (logged why)
                stop.set()
                raise StartupError(
                    f"cannot listen on {host}:{port}: in use or not allowed (MISTRI_LISTEN)"
                ) from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("stopped %.1f s after the stop was asked for", time.monotonic() - asked_at[0])
    return 0
