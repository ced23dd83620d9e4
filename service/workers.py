"""``mistri-bot serve --workers N``: N processes of ``serve`` on one listening socket.

uvicorn's supervisor starts the processes (each builds its app with :func:`worker_app` from
the environment), restarts one that dies and passes a stop on to each. Every process is a
whole ``serve`` on the shared PostgreSQL database (``service/serve.py``): the inbox is shared
by claims (``service/intake.py``), nothing that another could change is cached.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from starlette.applications import Starlette

from service.config import Settings, listen_address
from service.runtime import open_database
from service.serve import CONNECTIONS_GRACE, build_app, check, opened

log = logging.getLogger("mistri-bot")


def worker_app() -> Starlette:
    """The app of one of ``serve --workers N``'s processes (uvicorn's factory, in the child).

    Each process reads the settings from the environment (and ``.env``) as the parent did,
    and opens its own runtime in the app's lifespan; the parent applied the migrations.
    """
    from service import logs  # the child is a fresh interpreter: its logging is ours too

    logs.configure(logging.INFO)
    settings = Settings()
    logs.use_format(settings.log_format)  # MISTRI_LOG_FORMAT, as the parent's
    return build_app(lambda: opened(settings))


def serve_workers(settings: Settings, workers: int) -> int:
    """Serve with ``workers`` processes on one listening socket until SIGINT or SIGTERM.

    The data key and the migrations are dealt with once, here, before any worker starts (a
    wrong key is one line; workers never migrate side by side). uvicorn's supervisor then
    starts the processes, restarts one that dies, and passes a stop on to each: the worker
    stops as ``serve`` does (its events get STOP_GRACE, its unfinished claims are given back).

    Raises:
        ServeRefused: the settings do not allow it.
        StartupError: the database or the key is not usable.
    """
    check(settings, workers)
    host, port = listen_address(settings.listen)

    async def prepare() -> None:
        db = await open_database(settings)
        await db.close()

    asyncio.run(prepare())
    log.info("serving on %s:%d with %d workers", host, port, workers)
    uvicorn.run(
        "service.workers:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # ours, set up in each worker (service/logs.py)
        access_log=False,  # a verification's query string holds the verify token
        timeout_graceful_shutdown=int(CONNECTIONS_GRACE),
        server_header=False,
    )
    return 0
