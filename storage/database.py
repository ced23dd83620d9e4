"""The store: one engine, one unit of work, and each dialect's speed-ups behind them.

Every repository function takes a :class:`Tx`, the unit of work: a connection in a
transaction (:meth:`Database.transaction`) or reading (:meth:`Database.read`). Small changes
that need nothing back but row counts (a notice marked sent, a consent) are lists of
:data:`Write` run by :meth:`Database.write`, each list in a transaction of its own.

Callers never choose how a statement reaches the database. On a SQLite file the engine's one
connection runs on the event loop (``storage/sqlite/inline.py``), hot statements run on
SQLite's own handle inside SQLAlchemy's transaction (``storage/sqlite/prepared.py``), small
writes go through a dedicated connection (``storage/sqlite/direct.py``) and checkpoints run
in a thread (``storage/sqlite/checkpoint.py``). Any other database (PostgreSQL) takes the
plain SQLAlchemy path for all of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib.util import find_spec
from types import TracebackType
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)
from sqlalchemy.sql import ClauseElement

from storage.sqlite import engine as sqlite_engine
from storage.sqlite import prepared
from storage.sqlite.checkpoint import Checkpointer
from storage.sqlite.direct import DirectTable, DirectWriter

#: One write: a statement and its parameters. Repositories describe small changes as writes,
#: so they can run in a transaction of their own (:meth:`Database.write`) or in a caller's.
Write = tuple[ClauseElement, Mapping[str, Any]]

_NO_PARAMETERS: Mapping[str, Any] = {}


#: The database URLs the store takes, as a message names them.
SQLITE_FORM = "sqlite+aiosqlite:///path/to/mistri.db"
POSTGRES_FORM = "postgresql+asyncpg://user:password@host/dbname"
URL_FORMS = f"{SQLITE_FORM} or {POSTGRES_FORM}"
#: How to get PostgreSQL's driver: the package's ``postgres`` extra.
POSTGRES_EXTRA = "pip install 'mistri-bot[postgres]' (or: uv sync --extra postgres)"


class DatabaseUrlError(ValueError):
    """A database URL the store cannot use; the message says what to write instead.

    It never repeats the URL, which may hold a password.
    """


def check_url(url: str) -> str:
    """Return ``url`` as the engine takes it; raise :class:`DatabaseUrlError` if it cannot.

    ``postgresql://`` and ``postgres://`` (as hosting services write it) mean PostgreSQL
    through asyncpg, the driver of the ``postgres`` extra; other drivers are refused, as is a
    synchronous SQLite driver (``sqlite://``), which the async engine cannot use.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(f"not a database URL; expected {URL_FORMS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        if driver != "aiosqlite":
            raise DatabaseUrlError(
                f"{parsed.drivername}:// names a driver the bot cannot use (it needs"
                f" aiosqlite); expected {SQLITE_FORM}"
            )
        return url
    if backend not in ("postgresql", "postgres"):
        raise DatabaseUrlError(f"{backend} databases are not supported; expected {URL_FORMS}")
    if driver not in ("", "asyncpg"):
        raise DatabaseUrlError(f"PostgreSQL is reached through asyncpg; expected {POSTGRES_FORM}")
    if find_spec("asyncpg") is None:
        raise DatabaseUrlError(
            f"PostgreSQL needs the asyncpg driver, which is not installed: {POSTGRES_EXTRA}"
        )
    scheme, _, rest = url.partition("://")
    return url if scheme == "postgresql+asyncpg" else f"postgresql+asyncpg://{rest}"


def is_sqlite(url: str) -> bool:
    """Tell whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> str | None:
    """Return the file path of a SQLite URL, or None for memory or other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


#: The PostgreSQL connection pool of one process. Sized for the intake's 256 people at once
#: and the delivery worker, which each hold a connection for a round trip or a few; no ping
#: before every checkout (a round trip each, a quarter of a worker's throughput): after a
#: PostgreSQL restart each pooled connection fails its next statement once and is replaced
#: (a webhook POST gets a 500 and is redelivered, an update being handled gets "please try
#: again", the outbox retries); connections are renewed every 10 minutes anyway.
POSTGRES_POOL: dict[str, Any] = {
    "pool_size": 30,
    "max_overflow": 10,
    "pool_pre_ping": False,
    "pool_recycle": 600,
}


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url``, tuned for its backend.

    Statement parameters are hidden from error messages: they may carry personal data.

    Raises:
        DatabaseUrlError: ``url`` is not one the store takes (see :func:`check_url`).
    """
    url = check_url(url)
    if is_sqlite(url):
        return sqlite_engine.create(url, sqlite_path(url), **kwargs)
    if "poolclass" not in kwargs:
        kwargs = {**POSTGRES_POOL, **kwargs}
    return create_async_engine(url, hide_parameters=True, **kwargs)


class Tx:
    """One unit of work: a connection in a transaction (or reading), for repositories.

    ``notices`` counts the notices it added to the outbox, so whoever commits it knows to
    wake the delivery worker (after the sender's own answer is out).
    """

    __slots__ = ("_dialect", "_handle", "_writable", "conn", "notices")

    def __init__(self, conn: AsyncConnection, *, writable: bool) -> None:
        self.conn = conn
        self.notices = 0
        self._dialect = conn.dialect
        self._writable = writable
        self._handle = prepared.handle_of(conn)

    @property
    def dialect(self) -> Dialect:
        """The database's dialect (SQL that differs, such as upserts, asks for its name)."""
        return self._dialect

    async def rows(
        self, statement: ClauseElement, parameters: Mapping[str, Any] = _NO_PARAMETERS
    ) -> list[tuple[Any, ...]]:
        """Run a query (or DML with RETURNING); return its rows as tuples."""
        if self._handle is not None:
            found = prepared.rows(
                self._handle, self._dialect, statement, parameters, writable=self._writable
            )
            if found is not None:
                return found
        result = await self.conn.execute(statement, dict(parameters))  # type: ignore[call-overload]
        return [tuple(row) for row in result.all()]

    async def run(
        self, statement: ClauseElement, parameters: Mapping[str, Any] = _NO_PARAMETERS
    ) -> int:
        """Run DML; return how many rows it changed."""
        if self._handle is not None:
            changed = prepared.run(
                self._handle, self._dialect, statement, parameters, writable=self._writable
            )
            if changed is not None:
                return changed
        result = await self.conn.execute(statement, dict(parameters))  # type: ignore[call-overload]
        return len(result.all()) if result.returns_rows else int(result.rowcount)

    async def run_all(self, writes: Sequence[Write]) -> list[int]:
        """Run ``writes`` in order; return the rows each changed."""
        return [await self.run(statement, parameters) for statement, parameters in writes]

    async def execute(
        self, statement: ClauseElement, parameters: Mapping[str, Any] | None = None
    ) -> Any:
        """Run any statement through SQLAlchemy; return its result (rows by name)."""
        if parameters is None:
            return await self.conn.execute(statement)  # type: ignore[call-overload]
        return await self.conn.execute(statement, dict(parameters))  # type: ignore[call-overload]

    async def scalar(
        self, statement: ClauseElement, parameters: Mapping[str, Any] = _NO_PARAMETERS
    ) -> Any:
        """Return the first column of the first row (None when there is none)."""
        found = await self.rows(statement, parameters)
        return found[0][0] if found else None


class _Unit:
    """``async with`` a unit of work: a connection, in a transaction when ``writable``.

    A class rather than a generator-based context manager: it is entered two or three times
    for every event a person sends.
    """

    __slots__ = ("_conn", "_engine", "_on_notices", "_transaction", "_tx", "_writable")

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        writable: bool,
        on_notices: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._writable = writable
        self._on_notices = on_notices
        self._conn: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None
        self._tx: Tx | None = None

    async def __aenter__(self) -> Tx:
        conn = await self._engine.connect()
        try:
            if self._writable:
                self._transaction = await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._tx = Tx(conn, writable=self._writable)
        return self._tx

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if self._transaction is not None:
                if kind is None:
                    await self._transaction.commit()
                else:
                    await self._transaction.rollback()
        finally:
            await self._conn.close()
        if kind is None and self._on_notices is not None and self._tx.notices:
            self._on_notices()


class Database:
    """The database of a running bot (or of one CLI command)."""

    def __init__(self, engine: AsyncEngine, *, dedicated: bool = True) -> None:
        """Wrap ``engine``; on a SQLite file, with its own connection for small writes."""
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=False)
        self.path = sqlite_path(self.url)
        self._dedicated = dedicated and self.path is not None
        # Opened on the first small write, like the engine's own connection: a database that
        # cannot be opened says so where every caller looks for it (migrations, first query).
        self._writer: DirectWriter | None = None
        self._tables: list[DirectTable] = []
        self._checkpointer: Checkpointer | None = None
        #: Called once every connection is closed (service.runtime: the "in use" lock goes).
        self.on_close: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    def open(cls, url: str, **kwargs: Any) -> Database:
        """Create the engine for ``url`` and wrap it."""
        return cls(create_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        """The dialect's name: ``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def transaction(self, *, on_notices: Callable[[], None] | None = None) -> _Unit:
        """A unit of work that commits when the block ends (and rolls back on an error).

        ``on_notices`` is called after a commit that added notices to the outbox (the delivery
        worker is woken up, now or after the sender's answer). The connection is closed right
        here rather than in a task of SQLAlchemy's own (as ``engine.begin()`` does, so a
        cancellation cannot abandon it half way): that costs a turn of the event loop with the
        connection checked out, and with SQLite's single pooled connection every other user
        would wait. SQLite's calls run inline and cannot be interrupted half way.
        """
        return _Unit(self.engine, writable=True, on_notices=on_notices)

    def read(self) -> _Unit:
        """A unit of work that only reads (closed without the extra loop turn, as above)."""
        return _Unit(self.engine, writable=False)

    async def write(self, writes: Sequence[Write]) -> list[int]:
        """Run ``writes`` in one transaction of their own; return how many rows each changed."""
        if self._dedicated and self.path is not None:
            if self._writer is None:
                self._writer = DirectWriter(self.path, self.engine.dialect)
            return await self._writer.write(writes)
        async with self.transaction() as tx:
            return await tx.run_all(writes)

    def dedicated_table(self, table: Table) -> DirectTable | None:
        """A connection of its own for one hot table (SQLite files only; None elsewhere)."""
        if not self._dedicated or self.path is None:
            return None
        dedicated = DirectTable(self.path, table, self.engine.dialect)
        self._tables.append(dedicated)
        return dedicated

    def start(self) -> None:
        """Start what runs beside the database (SQLite: checkpoints in a thread)."""
        if self.path is not None and self._checkpointer is None:
            self._checkpointer = Checkpointer(self.path)
            self._checkpointer.start()

    async def after_erasure(self) -> None:
        """Personal data was just erased: leave no older copy of it behind (SQLite's log)."""
        if self._checkpointer is not None:
            await self._checkpointer.after_erasure()

    async def close(self) -> None:
        """Close every connection (and take a last checkpoint)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for table in self._tables:
            table.close()
        self._tables.clear()
        await self.engine.dispose()
        if self._checkpointer is not None:
            await self._checkpointer.close()
            self._checkpointer = None
        for release in self.on_close:
            await release()
