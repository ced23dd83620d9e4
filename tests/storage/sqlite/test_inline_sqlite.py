"""SQLite on the event loop's thread: calls stay on the loop, one connection, no autocheckpoint."""

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import create_engine
from storage.sqlite.inline import InlineConnection

pytestmark = pytest.mark.sqlite_only("SQLite's calls on the event loop")


async def test_statements_run_on_the_event_loop_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    seen: list[int] = []
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        inline = raw.driver_connection
        assert isinstance(inline, InlineConnection)
        sqlite = inline.handle
        assert sqlite is not None
        sqlite.create_function("whoami", 0, lambda: seen.append(threading.get_ident()) or 1)
        assert await connection.scalar(text("SELECT whoami()")) == 1
    await engine.dispose()
    assert seen == [threading.get_ident()]


async def test_a_second_user_waits_on_the_pool_not_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    order: list[str] = []
    holding = asyncio.Event()

    async def writer_holding_a_transaction() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            await asyncio.sleep(0.05)  # a real suspension with the write lock held
            order.append("first done")

    async def second_writer() -> None:
        await holding.wait()
        async with engine.begin() as connection:
            order.append("second got the connection")
            await connection.execute(text("INSERT INTO t VALUES (2)"))

    await asyncio.wait_for(asyncio.gather(writer_holding_a_transaction(), second_writer()), 5)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM t")) == 2
    await engine.dispose()
    assert order == ["first done", "second got the connection"]


async def test_commits_never_checkpoint_on_the_loop(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.connect() as connection:
        assert await connection.scalar(text("PRAGMA wal_autocheckpoint")) == 0
        assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
    await engine.dispose()
