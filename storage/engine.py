"""The async database engine: SQLite (WAL, busy timeout) by default, PostgreSQL via asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import inline_sqlite

#: How long a writer waits for SQLite's lock before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 5000


def is_sqlite(url: str) -> bool:
    """Tell whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> str | None:
    """Return the file path of a SQLite URL, or None for memory or other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; NORMAL syncs at checkpoints, which survives a
    # process kill (the WAL is in the OS) though not a power cut mid-checkpoint.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted and overwritten content is zeroed, not left in free pages: erased means gone.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url``, tuned for its backend.

    Statement parameters are hidden from error messages: they may carry personal data.
    """
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            # One connection, run on the loop's thread (see storage.inline_sqlite): a second
            # user of the database waits on the pool, never on SQLite's lock.
            kwargs = {
                "async_creator": inline_sqlite.connector(path),
                "pool_size": 1,
                "max_overflow": 0,
                **kwargs,
            }
        engine = create_async_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return a factory of SQLModel async sessions bound to ``engine``."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def begin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()``, without the extra turn of the event loop on the way out.

    SQLAlchemy closes an async connection at the end of ``async with`` in a task of its own
    (so a cancellation cannot abandon it half way), which costs a loop iteration while the
    connection is still checked out: with one pooled connection every other user of the
    database then waits. Our SQLite calls run inline and cannot be interrupted half way, so the
    connection is committed and closed right here.
    """
    conn = await engine.connect()
    try:
        transaction = await conn.begin()
        try:
            yield conn
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()
    finally:
        await conn.close()


@asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.connect()`` for reads, closed without the extra loop turn (see :func:`begin`)."""
    conn = await engine.connect()
    try:
        yield conn
    finally:
        await conn.close()
