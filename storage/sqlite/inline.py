"""aiosqlite's connection interface, run on the event loop's own thread.

aiosqlite sends every call (begin, each statement, each fetch, commit) to a worker thread and
back. For a local SQLite file in WAL mode with ``synchronous=NORMAL`` a statement or a commit
takes microseconds (a commit does not wait on the disk), while each round trip to the thread
costs tens of microseconds plus a GIL hand-off: the bot spent more time travelling to its
database than in it. This connection keeps aiosqlite's interface, so SQLAlchemy's aiosqlite
dialect drives it unchanged, but runs each call on the spot.

What that asks of the rest of the program, and how it is met:

- A call never waits for another of our own connections: the engine has a single connection
  (see :func:`storage.engine.create_engine`), and SQLAlchemy's async pool makes a second user
  wait on the event loop instead of on SQLite's lock.
- Waiting on SQLite's lock held by another process (the CLI adding a technician) blocks the
  loop for as long as that transaction lasts: short, and bounded by the busy timeout.
- Checkpoints, the only calls that wait on the disk, are taken off the loop: these connections
  never checkpoint on commit, and :class:`storage.sqlite.checkpoint.Checkpointer` does it in
  a thread.

This class is the one place that knows aiosqlite's insides (it stands in for the thread
aiosqlite would start); the rest of storage reaches SQLite's own handle through
:attr:`InlineConnection.handle`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite

from storage.sqlite.checkpoint import JOURNAL_SIZE_LIMIT


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs what is put on it at once.

    SQLAlchemy's dialect sets the isolation level through that queue directly.
    """

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the waiter, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An :class:`aiosqlite.Connection` whose calls run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    @property
    def handle(self) -> sqlite3.Connection | None:
        """The ``sqlite3`` connection its calls run on (None once closed)."""
        connection = self._connection
        return connection if isinstance(connection, sqlite3.Connection) else None

    def stop(self) -> None:
        """Close the SQLite connection (there is no thread to stop)."""
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        """Close the SQLite connection."""
        self.stop()


def connector(database: str) -> Callable[[], InlineConnection]:
    """Return an ``async_creator``-style factory of inline connections to ``database``."""

    def open_sqlite() -> sqlite3.Connection:
        # check_same_thread off: the pool may close a connection from a finaliser elsewhere.
        connection = sqlite3.connect(database, check_same_thread=False)
        # Commits never checkpoint here: a checkpoint syncs the disk, which is the one thing
        # that must not run on the event loop (the checkpointer does it in a thread).
        connection.execute("PRAGMA wal_autocheckpoint=0")
        # When the log restarts, the file shrinks back to this instead of keeping its peak.
        connection.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        return connection

    def create() -> InlineConnection:
        return InlineConnection(open_sqlite)

    return create
