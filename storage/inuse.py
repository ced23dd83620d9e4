"""Who has the database open: a lock that holds across processes.

Every process that opens the database to use it (``run``, ``demo``, the CLI's commands) holds
this lock *shared* until it closes the database; ``keys rotate`` takes it *exclusively*, and
refuses when it cannot. A process that holds the old key alone and keeps writing while the
key is rotated would write values that become unreadable once the old key is dropped.

- SQLite file: ``flock`` on ``<database>.lock`` beside the database (mode 0600, never
  removed: removing a lock file lets two processes each lock a different one). Never the
  database file itself: SQLite's own locks are POSIX locks, which belong to the process, and
  closing any descriptor of that file would drop them all.
- PostgreSQL: a session-level advisory lock on a connection of its own, held in autocommit
  (no transaction stays open). Released when that connection closes, as a ``flock`` is
  released when its process ends, even by ``kill -9``.
- Anything else (SQLite in memory): one process only, nothing to lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from storage import files
from storage.database import create_engine, sqlite_path

#: The advisory lock's key on PostgreSQL: any fixed 64-bit number, the same in every process
#: (the bytes of "mistri-k").
ADVISORY_KEY = 0x6D69_7374_7269_2D6B


class DatabaseInUse(Exception):
    """The lock is held the other way: a rotation runs, or someone has the database open."""


class InUse(Protocol):
    """A held lock; :meth:`release` lets it go (a second call does nothing)."""

    async def release(self) -> None:
        """Let the lock go."""


class _Nothing:
    async def release(self) -> None:
        return None


class _FileLock:
    """A ``flock`` on the lock file beside a SQLite database."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the lock
            self._fd = None


class _AdvisoryLock:
    """A PostgreSQL advisory lock, held by its own connection."""

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection) -> None:
        self._engine: AsyncEngine | None = engine
        self._connection = connection

    async def release(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            try:
                await self._connection.close()  # the session ends: so does its lock
            finally:
                await engine.dispose()


def lock_file(database: str | os.PathLike[str]) -> Path:
    """The lock file of a SQLite database: ``<database>.lock``."""
    return Path(f"{os.fspath(database)}.lock")


async def acquire(url: str, *, exclusive: bool) -> InUse:
    """Take the database's lock, shared (to use it) or exclusive (to rotate its key).

    Never waits: a lock held the other way is an answer, not a queue.

    Raises:
        DatabaseInUse: the lock is held the other way.
        storage.files.MissingDirectoryError: a SQLite database in a directory that is not there.
        OSError: the lock file cannot be created.
    """
    path = sqlite_path(url)
    if path is not None:
        return _lock_file(path, exclusive=exclusive)
    if make_url(url).get_backend_name() == "postgresql":
        return await _advisory_lock(url, exclusive=exclusive)
    return _Nothing()


def _lock_file(database: str, *, exclusive: bool) -> InUse:
    files.check_directory(database)
    fd = os.open(lock_file(database), os.O_RDWR | os.O_CREAT, files.PRIVATE)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError as error:
        os.close(fd)
        raise DatabaseInUse from error
    except BaseException:
        os.close(fd)
        raise
    return _FileLock(fd)


async def _advisory_lock(url: str, *, exclusive: bool) -> InUse:
    """Take the advisory lock on a connection of its own.

    Advisory locks belong to one database of the cluster: another database there is another
    lock. tests/service/test_rotate_while_running.py holds it across processes on PostgreSQL.
    """
    # The store's own engine factory (its checks and settings), without a pool and without a
    # transaction: an open one would hold back PostgreSQL's clean-up for as long as we run.
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        connection = await engine.connect()
    except BaseException:
        await engine.dispose()
        raise
    function = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
    try:
        taken = await connection.scalar(text(f"SELECT {function}(:key)"), {"key": ADVISORY_KEY})
    except BaseException:
        await connection.close()
        await engine.dispose()
        raise
    if not taken:
        await connection.close()
        await engine.dispose()
        raise DatabaseInUse
    return _AdvisoryLock(engine, connection)
