"""Conversation sessions: durable at every step, with many users' writes in one transaction.

Each step of each conversation is committed before its answer is sent, so a restart (even a
``kill -9``) resumes everyone where they were. Committing one transaction per update would
cap throughput at the disk's commit rate; instead, writes that arrive while a commit is in
flight wait for the next one and share it (group commit). A caller's ``save`` returns only
once its own row is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from conversations.session import Session
from storage.models import ConversationSession, utcnow

log = logging.getLogger(__name__)
_table = ConversationSession.__table__  # type: ignore[attr-defined]


class SessionStore:
    """Loads and saves sessions; a bounded in-memory cache in front of the table."""

    def __init__(self, engine: AsyncEngine, *, cache_size: int = 10_000) -> None:
        self._engine = engine
        self._cache: OrderedDict[int, Session] = OrderedDict()
        self._cache_size = cache_size
        self._pending: dict[int, dict[str, Any]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._upsert = self._build_upsert()
        #: Number of commits and of rows written, for the benchmark's report.
        self.commits = 0
        self.rows_written = 0

    def _build_upsert(self) -> Any:
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(_table)
        columns = ("lang", "flow", "step", "data", "updated_at")
        return statement.on_conflict_do_update(
            index_elements=["user_id"], set_={name: statement.excluded[name] for name in columns}
        )

    async def start(self) -> None:
        """Start the writer task."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="session-writer")

    async def close(self) -> None:
        """Flush what is pending and stop the writer."""
        if self._writer is None:
            return
        while self._pending or self._waiters:
            await self._flush()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def load(self, user_id: int) -> Session:
        """Return the session of ``user_id`` (a new idle one if there is none)."""
        cached = self._cache.get(user_id)
        if cached is not None:
            self._cache.move_to_end(user_id)
            return cached.copy()
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(_table).where(_table.c.user_id == user_id))
            ).first()
        session = (
            Session(user_id, row.lang, row.flow, row.step, dict(row.data or {}))
            if row is not None
            else Session(user_id)
        )
        self._remember(session)
        return session.copy()

    async def save(self, session: Session) -> None:
        """Store ``session``; returns once it is committed."""
        self._remember(session.copy())
        self._pending[session.user_id] = {
            "user_id": session.user_id,
            "lang": session.lang,
            "flow": session.flow,
            "step": session.step,
            "data": session.data,
            "updated_at": utcnow(),
        }
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._writer is None:
            await self._flush()
        else:
            self._wake.set()
        await waiter

    def forget(self, user_id: int) -> None:
        """Drop a cached session (after its row was deleted elsewhere)."""
        self._cache.pop(user_id, None)

    def _remember(self, session: Session) -> None:
        self._cache[session.user_id] = session
        self._cache.move_to_end(session.user_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not self._pending:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            return
        rows, waiters = list(self._pending.values()), self._waiters
        self._pending, self._waiters = {}, []
        try:
            async with self._engine.begin() as connection:
                await connection.execute(self._upsert, rows)
        except Exception as error:  # every waiter must hear of it, or its update hangs
            log.exception("session write of %d rows failed", len(rows))
            for row in rows:
                # The cache ran ahead of the database: fall back to what is committed.
                self.forget(row["user_id"])
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        self.commits += 1
        self.rows_written += len(rows)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
