"""One table through a dedicated SQLite connection: the hot path of every update.

The session row is written at every step of every conversation. Through SQLAlchemy each
write costs a pool checkout, an execution context and a reset on return (≈140 µs); the
statement and the commit themselves take ≈15 µs on a WAL database. This module keeps one
connection of its own, compiles each statement once with SQLAlchemy (so column types, their
encryption included, still decide what is stored) and runs it directly.

The connection runs on the event loop's thread (see :mod:`storage.sqlite.inline`) and never
waits on SQLite's lock there: it takes the write lock with a zero busy timeout and, when
another connection holds it, yields to the loop and tries again, so the holder can finish.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from storage.sqlite import prepared
from storage.sqlite.checkpoint import JOURNAL_SIZE_LIMIT

if TYPE_CHECKING:
    from storage.database import Write

#: How long a write keeps trying for the lock before it gives up (as the busy timeout would).
LOCK_PATIENCE_S = 5.0

Processor = Callable[[Any], Any] | None


class DirectTable:
    """Compiled statements on one table, run on a connection of its own."""

    def __init__(self, path: str, table: Table, dialect: Dialect) -> None:
        self._table = table
        self._dialect = dialect
        self._connection = _open(path)
        # dialect_impl: the type as this dialect stores it (SQLite's DATETIME writes its own
        # text format, which the engine's reads and comparisons expect).
        self._binds: dict[str, Processor] = {
            column.name: column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in table.columns
        }

    def compile(self, statement: ClauseElement, columns: Sequence[str]) -> str:
        """Return the SQL of ``statement`` with positional parameters in ``columns`` order."""
        return str(statement.compile(dialect=self._dialect, column_keys=list(columns)))

    def result_processors(self, columns: Sequence[str]) -> list[Processor]:
        """Return the functions that turn stored values of ``columns`` into Python values."""
        return [self._table.c[name].type.result_processor(self._dialect, None) for name in columns]

    def bind(self, row: Mapping[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
        """Return ``row``'s values in ``columns`` order, as the column types store them."""
        values = []
        for name in columns:
            processor, value = self._binds[name], row[name]
            values.append(processor(value) if processor is not None else value)
        return tuple(values)

    def fetch_one(self, sql: str, parameters: Sequence[Any]) -> tuple[Any, ...] | None:
        """Run a query and return its first row (a read never waits on the write lock)."""
        cursor = self._connection.execute(sql, parameters)
        try:
            row: tuple[Any, ...] | None = cursor.fetchone()
        finally:
            cursor.close()  # an open cursor would hold a read snapshot and stall checkpoints
        return row

    async def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``sql`` for every row in one transaction, waiting for the lock on the loop."""
        await _begin_immediate(self._connection)
        try:
            self._connection.executemany(sql, rows)
            self._connection.execute("COMMIT")
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


class DirectWriter:
    """Small transactions of :data:`storage.database.Write` on a connection of their own.

    For writes that need nothing back but row counts (a notice marked sent, a consent): through
    SQLAlchemy a transaction costs a pool checkout, four greenlet hops and a reset (≈50 µs)
    around statements that take a few. Here it is ``BEGIN IMMEDIATE``, the statements
    (compiled by SQLAlchemy, values through the column types: see :mod:`storage.prepared`)
    and ``COMMIT``, with nothing awaited in between, so the write lock is never held across a
    turn of the event loop.
    """

    def __init__(self, path: str, dialect: Dialect) -> None:
        self._dialect = dialect
        self._connection = _open(path)

    async def write(self, writes: Sequence[Write]) -> list[int]:
        """Run ``writes`` in one transaction; return how many rows each changed."""
        await _begin_immediate(self._connection)
        try:
            counts = [
                prepared.run_on(self._connection, self._dialect, statement, parameters)
                for statement, parameters in writes
            ]
            self._connection.execute("COMMIT")
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        return counts

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def _open(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=0")  # never wait on the loop: see _begin_immediate
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA secure_delete=ON")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # see storage.checkpoint
    connection.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    return connection


async def _begin_immediate(connection: sqlite3.Connection) -> None:
    """Take the write lock; while another connection holds it, yield to the loop and retry."""
    deadline = time.monotonic() + LOCK_PATIENCE_S
    pause = 0.0005
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
            continue
        return


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error)
