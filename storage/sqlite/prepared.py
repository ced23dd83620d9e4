"""Hot-path statements run on SQLite's own handle, inside SQLAlchemy's transaction.

Every ``AsyncConnection.execute`` pays for SQLAlchemy's machinery around the statement: a
greenlet hop, a cache key for the statement, an execution context, a result object. That is
≈45 µs, where SQLite runs a one-row statement in ≈5 µs; a booking runs about a dozen of them.

:func:`rows` and :func:`run` take the same Core statement and parameters a caller would give
SQLAlchemy. The statement is compiled once by SQLAlchemy, its parameters are turned into what
the column types store (encryption included) by the types' own processors, and it runs on the
``sqlite3`` connection under the unit of work's ``AsyncConnection``: the same connection, so
the same transaction, committed or rolled back by SQLAlchemy as before. A statement this path
cannot take (expanding ``IN``, Python-side defaults) answers None: SQLAlchemy runs it.
Callers never name this module: :class:`storage.database.Tx` picks it on a SQLite file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from storage.sqlite.inline import InlineConnection

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled for SQLite, with the processors of its parameters and columns."""

    sql: str
    compiled: SQLCompiler
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    writes: bool


# Keyed by the statement's identity and the parameter names: the statements given here are
# module-level constants (or cached per shape), so the table stays small. The statement is
# kept with its plan, so its id cannot be reused by another object.
_plans: dict[tuple[int, tuple[str, ...]], tuple[ClauseElement, _Plan | None]] = {}


def handle_of(conn: AsyncConnection) -> sqlite3.Connection | None:
    """Return the ``sqlite3`` connection under ``conn`` when its calls run inline."""
    try:
        driver = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    except SQLAlchemyError:
        return None  # closed or invalid: the ordinary path raises the proper error
    return driver.handle if isinstance(driver, InlineConnection) else None


def rows(
    handle: sqlite3.Connection,
    dialect: Dialect,
    statement: ClauseElement,
    parameters: Mapping[str, Any],
    *,
    writable: bool,
) -> list[tuple[Any, ...]] | None:
    """Run a query (or DML with RETURNING); its rows as tuples, None if SQLAlchemy must.

    DML runs here only in a transaction SQLAlchemy knows of (``writable``): otherwise SQLite
    would open one of its own, rolled back unseen when the connection goes back to the pool.
    """
    plan = _plan_for(statement, parameters, dialect)
    if plan is None or (plan.writes and not writable):
        return None
    cursor = _execute(handle, plan, parameters)
    try:
        fetched = cursor.fetchall()
    finally:
        cursor.close()  # an open cursor would keep a read snapshot and stall checkpoints
    results = plan.results
    return [
        tuple(
            value if process is None else process(value)
            for process, value in zip(results, row, strict=True)
        )
        for row in fetched
    ]


def run(
    handle: sqlite3.Connection,
    dialect: Dialect,
    statement: ClauseElement,
    parameters: Mapping[str, Any],
    *,
    writable: bool,
) -> int | None:
    """Run DML; how many rows it changed, None if SQLAlchemy must run it (see :func:`rows`)."""
    plan = _plan_for(statement, parameters, dialect)
    if plan is None or (plan.writes and not writable):
        return None
    return _changed(_execute(handle, plan, parameters), plan)


def run_on(
    handle: sqlite3.Connection,
    dialect: Dialect,
    statement: ClauseElement,
    parameters: Mapping[str, Any],
) -> int:
    """Run ``statement`` on a ``sqlite3`` connection of our own; return the rows it changed."""
    plan = _plan_for(statement, parameters, dialect)
    if plan is None:
        raise ValueError("this statement needs SQLAlchemy's execution")
    return _changed(_execute(handle, plan, parameters), plan)


def _changed(cursor: sqlite3.Cursor, plan: _Plan) -> int:
    try:
        if plan.results:
            # RETURNING: one row back per row changed (sqlite3's rowcount says 0 here).
            return len(cursor.fetchall())
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _plan_for(
    statement: ClauseElement, parameters: Mapping[str, Any], dialect: Dialect
) -> _Plan | None:
    key = (id(statement), tuple(parameters))
    entry = _plans.get(key)
    if entry is None or entry[0] is not statement:
        entry = _plans[key] = (statement, _plan(statement, tuple(parameters), dialect))
    return entry[1]


def _plan(statement: ClauseElement, names: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
        return None
    binds = compiled.binds
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None  # IN lists and the like are rendered per call: SQLAlchemy's job
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # Python-side column defaults are computed by SQLAlchemy's execution
    if any(binds[name].expanding for name in compiled.positiontup):
        return None
    exported = getattr(statement, "exported_columns", ())
    return _Plan(
        sql=str(compiled),
        compiled=compiled,
        names=tuple(compiled.positiontup),
        binds=tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in compiled.positiontup
        ),
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in exported
        ),
        writes=bool(compiled.isinsert or compiled.isupdate or compiled.isdelete),
    )


def _execute(
    handle: sqlite3.Connection, plan: _Plan, parameters: Mapping[str, Any]
) -> sqlite3.Cursor:
    # construct_params fills in what the statement holds itself (literal values in it).
    values = plan.compiled.construct_params(dict(parameters), _check=False)
    arguments: Sequence[Any] = [
        value if process is None else process(value)
        for process, value in zip(plan.binds, (values[name] for name in plan.names), strict=True)
    ]
    try:
        return handle.execute(plan.sql, arguments)
    except sqlite3.Error as error:
        # Callers catch SQLAlchemy's exceptions (IntegrityError, OperationalError, …), as
        # they would from conn.execute; parameters are never put in the message.
        raise DBAPIError.instance(
            plan.sql, None, error, sqlite3.Error, hide_parameters=True
        ) from error
