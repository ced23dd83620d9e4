"""Databases for the tests on PostgreSQL (``MISTRI_TEST_POSTGRES_URL``, see tools/pg.sh).

Each test process (an xdist worker) migrates a template database once and makes its test
database from it (``CREATE DATABASE … TEMPLATE``). Between tests that database is emptied
(every table deleted, children first, and the sequences restarted), which leaves it as the
template was: 20 ms where a new copy takes 450 ms. A database a test left otherwise (its
schema not at the head, a lock still held) is made again from the template. Names carry the
process id, so two runs on one cluster never meet; a run's databases are dropped when it
ends, and those of runs that died are dropped by the next.
"""

from __future__ import annotations

import asyncio
import os
import re

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from storage import migrate
from storage.database import Database, check_url


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Postgres:
    """The template and the per-test database of one test process, on one cluster."""

    def __init__(self, url: str) -> None:
        self.url = make_url(check_url(url))
        base = self.url.database or "postgres"
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self._prefix = f"{base}_t"
        self._pattern = re.compile(rf"^{re.escape(self._prefix)}(\d+)_")
        own = f"{self._prefix}{os.getpid()}_{worker}"
        self.template = f"{own}_tpl"
        self.test = own
        self._made = False
        self._head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        # One script, one round trip: children before the rows they point at.
        deletes = "".join(
            f"DELETE FROM {_quote(table.name)};"
            for table in reversed(SQLModel.metadata.sorted_tables)
        )
        self._empty = f"SET lock_timeout = '2s'; BEGIN; {deletes} COMMIT;"

    def url_of(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster (password included)."""
        return self.url.set(database=database).render_as_string(hide_password=False)

    async def _admin(self, database: str | None = None) -> asyncpg.Connection:
        url = self.url
        return await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=database or url.database,
        )

    def make_template(self) -> None:
        """Drop what dead runs left, then make this process's migrated template."""

        async def make() -> None:
            admin = await self._admin()
            try:
                for (name,) in await admin.fetch("SELECT datname FROM pg_database"):
                    found = self._pattern.match(name)
                    if found and not os.path.exists(f"/proc/{found[1]}"):
                        await admin.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
                await admin.execute(
                    f"DROP DATABASE IF EXISTS {_quote(self.template)} WITH (FORCE)"
                )
                await admin.execute(f"CREATE DATABASE {_quote(self.template)}")
            finally:
                await admin.close()
            database = Database.open(self.url_of(self.template))
            await migrate.upgrade(database.engine)
            await database.close()

        asyncio.run(make())

    async def fresh(self) -> str:
        """The test database, as the template is; returns its URL."""
        if self._made and await self._emptied():
            return self.url_of(self.test)
        admin = await self._admin()
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {_quote(self.test)} WITH (FORCE)")
            await admin.execute(
                f"CREATE DATABASE {_quote(self.test)} TEMPLATE {_quote(self.template)}"
            )
        finally:
            await admin.close()
        self._made = True
        return self.url_of(self.test)

    async def _emptied(self) -> bool:
        """Empty the test database; False when it is not as the template was made."""
        try:
            connection = await self._admin(self.test)
            try:
                sequences = await connection.fetch(
                    "SELECT schemaname, sequencename FROM pg_sequences"
                )
                restarts = "".join(
                    f"ALTER SEQUENCE {_quote(schema)}.{_quote(name)} RESTART;"
                    for schema, name in sequences
                )
                await connection.execute(self._empty + restarts)
                version = await connection.fetchval("SELECT version_num FROM alembic_version")
            finally:
                await connection.close()
        except (asyncpg.PostgresError, OSError):
            return False
        return bool(version == self._head)

    def drop(self) -> None:
        """Drop this process's databases (at the end of the run)."""

        async def drop() -> None:
            admin = await self._admin()
            try:
                for name in (self.test, self.template):
                    await admin.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
            finally:
                await admin.close()

        asyncio.run(drop())
