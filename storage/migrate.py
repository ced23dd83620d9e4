"""Apply Alembic migrations programmatically, on the application's own async engine."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

#: The advisory lock that lets one process at a time migrate a PostgreSQL database: workers
#: started together each apply migrations at start-up; the others wait, then find nothing
#: to do. ("mistri" as digits, a constant no other lock of this program uses.)
MIGRATION_LOCK = 0x6D6973747269


def alembic_config(url: str = "") -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision`` (the newest schema by default)."""
    await _migrate(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database at ``engine`` back to ``revision``."""
    await _migrate(engine, lambda config: command.downgrade(config, revision))


async def _migrate(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config)

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to change it: with foreign keys on, dropping the old
            # copy would cascade into (or be refused by) the rows that point at it. They are
            # off for the migration (a pragma that only works outside a transaction), and
            # checked before the commit.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                if not sqlite:
                    # Held until this transaction ends: the migration is committed by then.
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                await connection.run_sync(run)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration left {len(broken)} broken references")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def pending(engine: AsyncEngine) -> bool:
    """Tell whether the database lacks migrations the code has."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(current) != head
