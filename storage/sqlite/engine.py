"""The SQLite engine: WAL, a busy timeout, foreign keys, secure delete, calls on the loop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import files
from storage.sqlite import inline

#: How long a writer waits for SQLite's lock before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 5000


def _tune(dbapi_connection: Any, _record: Any) -> None:
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


def create(url: str, path: str | None, **kwargs: Any) -> AsyncEngine:
    """Create the engine of a SQLite database (``path`` None: in memory).

    A file gets one connection whose calls run on the event loop's own thread (see
    :mod:`storage.sqlite.inline`): a second user of the database waits on the pool, never on
    SQLite's lock. The file is created here, private (mode 0600), before SQLite opens it:
    SQLite gives its ``-wal`` and ``-shm`` files the database's own mode.
    """
    if path is not None:
        files.create_private(path)
        kwargs = {
            "async_creator": inline.connector(path),
            "pool_size": 1,
            "max_overflow": 0,
            **kwargs,
        }
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    event.listen(engine.sync_engine, "connect", _tune)
    return engine
