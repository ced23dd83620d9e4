"""Re-encrypting every personal value under a new key: in batches, on raw bytes, resumable.

The columns come from the models: every column whose type is an encrypted type
(:class:`storage.crypto._Encrypted` and its subclasses) is re-encrypted, and every blind index
beside one (``<column>_index``, or a column whose ``info`` names its source as
``blind_index_of``) is recomputed under the new key's index key. A new personal column is
therefore rotated without touching this module.

How a kill at any moment stays harmless:

- each batch re-encrypts a range of rows in one write transaction, so a row is either wholly
  under its old values or wholly re-encrypted with its index recomputed;
- the old key stays in the ring until the end, so both kinds of row stay readable;
- a row already under the new key is skipped by the key id its values carry, so running the
  rotation again carries on where it stopped;
- the database's key check value moves to the new key only in the transaction that has just
  found no value left under another key; the caller drops the old key after that.

Values never pass through ORM objects: a batch is read as stored bytes, decrypted and
encrypted again with the keyring directly, and written back with one ``executemany``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    MetaData,
    Select,
    TableClause,
    Update,
    bindparam,
    column,
    func,
    literal,
    or_,
    select,
    table,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from storage.crypto import EncryptedText, Keyring, WrongKeyError, _Encrypted
from storage.keys import seal_key_check

#: Rows per transaction: big enough that per-transaction costs vanish, small enough that a
#: live bot waiting for the write lock waits milliseconds.
BATCH_SIZE = 2000

#: Passes over the tables before giving up on values that keep arriving under an old key.
MAX_PASSES = 3

#: Batches between WAL checkpoints (the bot's SQLite connections never checkpoint on commit).
CHECKPOINT_EVERY = 20

_INDEX_SUFFIX = "_index"


class RotationError(Exception):
    """The rotation cannot finish; the message is one line and names no personal value."""


@dataclass(frozen=True)
class BlindIndex:
    """A blind index column and the encrypted column it indexes."""

    column: str
    source: str


@dataclass(frozen=True)
class EncryptedTable:
    """A table with encrypted columns: what a rotation rewrites in it."""

    name: str
    #: The primary key's columns, in order (batches walk the rows by it).
    primary_key: tuple[str, ...]
    #: ``(column name, purpose bound as associated data)``, in table order.
    columns: tuple[tuple[str, str], ...]
    indexes: tuple[BlindIndex, ...] = ()


def encrypted_tables(metadata: MetaData | None = None) -> list[EncryptedTable]:
    """Find every encrypted column and blind index in ``metadata`` (default: the models).

    Raises:
        ValueError: a table with encrypted columns has no primary key, or a blind index's
            source is not an encrypted text column.
    """
    found = []
    for sa_table in (metadata or SQLModel.metadata).sorted_tables:
        encrypted = {c.name: c.type for c in sa_table.columns if isinstance(c.type, _Encrypted)}
        if not encrypted:
            continue
        keys = list(sa_table.primary_key.columns)
        if not keys:
            raise ValueError(f"{sa_table.name}: rotation needs a primary key")
        indexes = []
        for candidate in sa_table.columns:
            source = candidate.info.get("blind_index_of")
            if source is None and candidate.name.endswith(_INDEX_SUFFIX):
                named = candidate.name.removesuffix(_INDEX_SUFFIX)
                source = named if named in encrypted else None
            if source is None:
                continue
            if not isinstance(encrypted.get(source), EncryptedText):
                raise ValueError(f"{sa_table.name}.{candidate.name}: source is not encrypted text")
            indexes.append(BlindIndex(candidate.name, source))
        found.append(
            EncryptedTable(
                name=sa_table.name,
                primary_key=tuple(key.name for key in keys),
                columns=tuple((name, kind.purpose) for name, kind in encrypted.items()),
                indexes=tuple(indexes),
            )
        )
    return found


class Progress(Protocol):
    """Receives the rotation's progress (the CLI draws it on stderr)."""

    def begin(self, pending: Mapping[str, int]) -> None:
        """A pass starts: rows still to re-encrypt, per table."""

    def advance(self, table: str, rows: int) -> None:
        """``rows`` more rows of ``table`` are done."""

    def table_done(self, table: str) -> None:
        """Every pending row of ``table`` is done."""


@dataclass
class RotationReport:
    """What a rotation did."""

    rows: int = 0
    values: int = 0
    seconds: float = 0.0
    passes: int = 0

    @property
    def rate(self) -> float:
        """Values re-encrypted per second."""
        return self.values / self.seconds if self.seconds > 0 else 0.0


class _Plan:
    """The statements and the per-row work of rotating one table, under one keyring."""

    def __init__(self, spec: EncryptedTable, ring: Keyring, for_update: bool) -> None:
        self.spec = spec
        self.ring = ring
        self.prefix = ring.current_prefix
        names = [name for name, _ in spec.columns]
        index_names = [index.column for index in spec.indexes]
        # Plain binary columns: the models' encrypted types would decrypt on the way out and
        # encrypt on the way in, which is exactly what must not happen to raw values here.
        raw: TableClause = table(
            spec.name,
            *(column(key) for key in spec.primary_key),
            *(column(name, LargeBinary) for name in (*names, *index_names)),
        )
        self.table = raw
        self.keys = [raw.c[key] for key in spec.primary_key]
        self.values = [raw.c[name] for name in names]
        self.pending: ColumnElement[bool] = self.not_current(self.values)
        self.query: Select[Any] = (
            select(*self.keys, *self.values).where(self.pending).order_by(*self.keys)
        )
        if for_update:
            self.query = self.query.with_for_update()
        stored = (*names, *index_names)
        self.write: Update = (
            update(raw)
            .where(*(key == bindparam(f"k_{i}") for i, key in enumerate(self.keys)))
            .values({name: bindparam(f"v_{name}", type_=LargeBinary) for name in stored})
        )
        self._indexes: dict[str, list[str]] = {}
        for index in spec.indexes:
            self._indexes.setdefault(index.source, []).append(index.column)

    def not_current(self, values: Sequence[ColumnElement[Any]]) -> ColumnElement[bool]:
        """SQL: some value of the row is not under the current key (NULLs never match)."""
        prefix = literal(self.prefix, LargeBinary)
        return or_(*(func.substr(value, 1, len(self.prefix)) != prefix for value in values))

    def batch(self, after: Sequence[Any] | None, size: int) -> Select[Any]:
        """The next ``size`` rows needing work, by primary key, after the key ``after``."""
        if after is None:
            query = self.query
        elif len(self.keys) == 1:
            query = self.query.where(self.keys[0] > after[0])
        else:  # a row value compared as a whole (SQLite and PostgreSQL alike)
            query = self.query.where(tuple_(*self.keys) > tuple_(*after))
        return query.limit(size)

    def key_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """The primary key of a row this plan read."""
        return tuple(row[: len(self.keys)])

    def rekey(self, row: Sequence[Any]) -> tuple[dict[str, Any], int]:
        """Return the new stored values of ``row`` and how many values were re-encrypted."""
        ring, prefix = self.ring, self.prefix
        width = len(self.keys)
        params: dict[str, Any] = {f"k_{i}": row[i] for i in range(width)}
        changed = 0
        for (name, purpose), stored in zip(self.spec.columns, row[width:], strict=True):
            index_columns = self._indexes.get(name, ())
            if stored is None:
                params[f"v_{name}"] = None
                for index_column in index_columns:
                    # No value, nothing to look it up by: an index under the old key would
                    # only be noise once that key is gone.
                    params[f"v_{index_column}"] = None
                continue
            blob = bytes(stored)
            try:
                if blob.startswith(prefix):
                    params[f"v_{name}"] = blob
                    plaintext = ring.decrypt(blob, purpose) if index_columns else b""
                else:
                    plaintext = ring.decrypt(blob, purpose)
                    params[f"v_{name}"] = ring.encrypt(plaintext, purpose)
                    changed += 1
            except WrongKeyError as error:
                raise RotationError(f"cannot decrypt a value of {purpose}: {error}") from error
            for index_column in index_columns:
                params[f"v_{index_column}"] = ring.blind_index(plaintext.decode())
        return params, changed


async def _begin_write(connection: AsyncConnection) -> None:
    """Start a transaction that holds the write lock from its first read.

    The rows read are written back in the same transaction: with SQLite's default deferred
    transaction another writer could change them in between (its change would be lost).
    """
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


async def _pending(engine: AsyncEngine, plans: Sequence[_Plan]) -> dict[str, int]:
    """Count, per table, the rows with some value not under the current key."""
    counts = {}
    async with engine.connect() as connection:
        for plan in plans:
            query = select(func.count()).select_from(plan.table).where(plan.pending)
            counts[plan.spec.name] = int(await connection.scalar(query) or 0)
        await connection.rollback()
    return counts


async def _checkpoint(engine: AsyncEngine) -> None:
    """Fold SQLite's write-ahead log back into the database file, so it stays short."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        await connection.rollback()


async def _rotate_table(
    engine: AsyncEngine,
    plan: _Plan,
    report: RotationReport,
    *,
    batch_size: int,
    pause_s: float,
    progress: Progress | None,
) -> None:
    after: tuple[Any, ...] | None = None
    batches = 0
    while True:
        # One connection at a time: the SQLite engine has a single one (pool_size=1).
        async with engine.connect() as connection:
            await _begin_write(connection)
            rows = (await connection.execute(plan.batch(after, batch_size))).all()
            if not rows:
                await connection.rollback()
                break
            params, values = [], 0
            for row in rows:
                new, changed = plan.rekey(row)
                params.append(new)
                values += changed
            await connection.execute(plan.write, params)
            await connection.commit()
        after = plan.key_of(rows[-1])
        report.rows += len(rows)
        report.values += values
        if progress is not None:
            progress.advance(plan.spec.name, len(rows))
        batches += 1
        if batches % CHECKPOINT_EVERY == 0:
            await _checkpoint(engine)
        if pause_s > 0:
            await asyncio.sleep(pause_s)  # lets a live bot take the write lock in between


async def _seal(engine: AsyncEngine, plans: Sequence[_Plan], ring: Keyring) -> bool:
    """Move the key check value to the new key if, and only if, no value is left behind.

    The check and the move share one write transaction, so nothing can slip in between.
    """
    async with engine.connect() as connection:
        await _begin_write(connection)
        for plan in plans:
            query = select(*plan.keys).where(plan.pending).limit(1)
            if (await connection.execute(query)).first() is not None:
                await connection.rollback()
                return False
        await seal_key_check(connection, ring)
        await connection.commit()
    return True


async def rotate(
    engine: AsyncEngine,
    ring: Keyring,
    *,
    batch_size: int = BATCH_SIZE,
    pause_s: float = 0.0,
    progress: Progress | None = None,
    metadata: MetaData | None = None,
) -> RotationReport:
    """Re-encrypt every value not under ``ring``'s current key, then move the key check to it.

    ``ring`` must also hold every key values may still be under. When this returns, nothing in
    the database needs the older keys any more.

    Raises:
        RotationError: a value is under a key the ring does not hold, or values keep arriving
            under an old key (a bot still running with only the old key).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    for_update = engine.dialect.name != "sqlite"
    plans = [_Plan(spec, ring, for_update) for spec in encrypted_tables(metadata)]
    report = RotationReport()
    started = time.perf_counter()
    while True:
        pending = await _pending(engine, plans)
        if not any(pending.values()) and await _seal(engine, plans, ring):
            break
        if report.passes == MAX_PASSES:
            raise RotationError(
                "values keep being written under an old key: stop the bot, or restart it "
                "with the new key first in its configuration, and run keys rotate again"
            )
        report.passes += 1
        if progress is not None:
            progress.begin(pending)
        for plan in plans:
            if pending[plan.spec.name]:
                await _rotate_table(
                    engine,
                    plan,
                    report,
                    batch_size=batch_size,
                    pause_s=pause_s,
                    progress=progress,
                )
            if progress is not None:
                progress.table_done(plan.spec.name)
    await _checkpoint(engine)
    report.seconds = time.perf_counter() - started
    return report
