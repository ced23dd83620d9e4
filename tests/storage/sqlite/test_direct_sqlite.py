"""The session table's own connection: it waits for the write lock on the loop, then gives up."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects import sqlite as sqlite_dialect

from storage.sqlite import direct
from storage.sqlite.direct import DirectTable

pytestmark = pytest.mark.sqlite_only("SQLite's dedicated write connection")

_table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", String))


def make(path: Path) -> tuple[DirectTable, str]:
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    table = DirectTable(str(path), _table, sqlite_dialect.dialect())
    return table, table.compile(_table.insert(), ["id", "v"])


async def test_a_write_waits_for_another_connections_lock_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    table, insert = make(tmp_path / "d.db")
    other = sqlite3.connect(tmp_path / "d.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    task = asyncio.create_task(
        table.write_many(insert, [table.bind({"id": 1, "v": "a"}, ["id", "v"])])
    )
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting, and the loop ran this test meanwhile
    other.execute("COMMIT")
    await asyncio.wait_for(task, 2)
    assert table.fetch_one("SELECT v FROM t WHERE id = ?", (1,)) == ("a",)
    other.close()
    table.close()


async def test_a_write_gives_up_when_the_lock_never_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(direct, "LOCK_PATIENCE_S", 0.05)
    table, insert = make(tmp_path / "d.db")
    other = sqlite3.connect(tmp_path / "d.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        await table.write_many(insert, [(1, "a")])
    other.execute("ROLLBACK")
    other.close()
    table.close()


async def test_a_failed_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    table, insert = make(tmp_path / "d.db")
    await table.write_many(insert, [(1, "a")])
    with pytest.raises(sqlite3.IntegrityError):
        await table.write_many(insert, [(2, "b"), (1, "again")])  # the second row collides
    assert table.fetch_one("SELECT count(*) FROM t", ()) == (1,)
    await table.write_many(insert, [(2, "b")])  # and the connection is usable afterwards
    assert table.fetch_one("SELECT count(*) FROM t", ()) == (2,)
    table.close()
