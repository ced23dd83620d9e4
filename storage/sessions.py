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
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from conversations.events import Address
from conversations.session import Session
from storage.database import Database
from storage.models import ConversationSession, utcnow

log = logging.getLogger(__name__)
_table = ConversationSession.__table__  # type: ignore[attr-defined]
_KEY = ("channel", "person_id")
_WRITTEN = ("channel", "person_id", "lang", "flow", "step", "data", "updated_at")
_READ = ("lang", "flow", "step", "data")
#: Where the flow a session's flow interrupted is kept in the stored answers.
_RESUME = "resume"
#: Where the id of the last update applied to the session is kept (Session.applied).
_APPLIED = "applied_update"


_LAST_WRITTEN = (
    select(_table.c.updated_at)
    .where(_table.c.channel == bindparam("channel"))
    .where(_table.c.person_id == bindparam("person_id"))
)


async def last_written(db: Database, person: Address) -> datetime | None:
    """When ``person``'s session was last saved: when they last wrote (None: no session)."""
    async with db.read() as tx:
        rows = await tx.rows(_LAST_WRITTEN, {"channel": person.channel, "person_id": person.id})
    value: datetime | None = rows[0][0] if rows else None
    return value


class SessionStore:
    """Loads and saves sessions; a bounded in-memory cache in front of the table."""

    def __init__(self, db: Database, *, cache_size: int = 10_000) -> None:
        self._db = db
        self._cache: OrderedDict[Address, Session] = OrderedDict()
        self._cache_size = cache_size
        self._pending: dict[Address, dict[str, Any]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._upsert = self._build_upsert()
        self._select = select(*(_table.c[name] for name in _READ)).where(
            _table.c.channel == bindparam("channel"),
            _table.c.person_id == bindparam("person_id"),
        )
        # The table's own connection where the database offers one (a SQLite file);
        # elsewhere every read and write goes through the engine.
        self._direct = db.dedicated_table(_table)
        if self._direct is not None:
            self._direct_upsert = self._direct.compile(self._upsert, _WRITTEN)
            self._direct_select = self._direct.compile(self._select, _KEY)
            self._direct_results = self._direct.result_processors(_READ)
        #: Number of commits and of rows written, for the benchmark's report.
        self.commits = 0
        self.rows_written = 0

    def _build_upsert(self) -> Any:
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        statement = insert(_table)
        columns = _WRITTEN[2:]
        return statement.on_conflict_do_update(
            index_elements=list(_KEY), set_={name: statement.excluded[name] for name in columns}
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

    async def load(self, person: Address) -> Session:
        """Return the session of ``person`` (a new idle one if there is none)."""
        cached = self._cache.get(person)
        if cached is not None:
            self._cache.move_to_end(person)
            return cached.copy()
        row = await self._fetch(person)
        if row is None:
            session = Session(person)
        else:
            data = dict(row[3] or {})
            resume = data.pop(_RESUME, None)
            applied = data.pop(_APPLIED, None)
            session = Session(
                person,
                row[0],
                row[1],
                row[2],
                data,
                resume if isinstance(resume, dict) else None,
                applied if isinstance(applied, int) else None,
            )
        self._remember(session)
        return session.copy()

    async def save(self, session: Session) -> None:
        """Store ``session``; returns once it is committed."""
        self._remember(session.copy())
        data = session.data
        if session.resume:
            # Stored within the answers, as rows before the router kept it apart.
            data = {**data, _RESUME: session.resume}
        if session.applied is not None:
            data = {**data, _APPLIED: session.applied}
        self._pending[session.person] = {
            "channel": session.person.channel,
            "person_id": session.person.id,
            "lang": session.lang,
            "flow": session.flow,
            "step": session.step,
            "data": data,
            "updated_at": utcnow(),
        }
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._writer is None or self._direct is not None:
            # On a SQLite file the commit (≈20 µs, on the loop) costs less than handing the
            # row to the writer task: commit now, with whatever else is pending.
            await self._flush()
        else:
            self._wake.set()
        await waiter

    def forget(self, person: Address) -> None:
        """Drop a cached session (after its row was deleted elsewhere)."""
        self._cache.pop(person, None)

    def _remember(self, session: Session) -> None:
        self._cache[session.person] = session
        self._cache.move_to_end(session.person)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _fetch(self, person: Address) -> tuple[Any, ...] | None:
        if self._direct is not None:
            raw = self._direct.fetch_one(self._direct_select, (person.channel, person.id))
            if raw is None:
                return None
            return tuple(
                process(value) if process is not None else value
                for process, value in zip(self._direct_results, raw, strict=True)
            )
        async with self._db.read() as tx:
            found = await tx.rows(
                self._select, {"channel": person.channel, "person_id": person.id}
            )
        return found[0] if found else None

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        if self._direct is not None:
            direct = self._direct
            await direct.write_many(
                self._direct_upsert, [direct.bind(row, _WRITTEN) for row in rows]
            )
            return
        async with self._db.transaction() as tx:
            await tx.conn.execute(self._upsert, rows)

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
            await self._write(rows)
        except Exception as error:  # every waiter must hear of it, or its update hangs
            log.exception("session write of %d rows failed", len(rows))
            for row in rows:
                # The cache ran ahead of the database: fall back to what is committed.
                self.forget(Address(row["channel"], row["person_id"]))
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        self.commits += 1
        self.rows_written += len(rows)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
