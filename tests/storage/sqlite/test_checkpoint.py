"""WAL checkpoints in a worker thread: the log is copied into the database file."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from storage.database import Database
from storage.sqlite import checkpoint
from storage.sqlite.checkpoint import Checkpointer

pytestmark = pytest.mark.sqlite_only("SQLite's WAL checkpoints")


def write_rows(path: Path, count: int) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
    for _ in range(count):
        connection.execute("INSERT INTO t VALUES (randomblob(500))")
    return connection


def frames_left(connection: sqlite3.Connection) -> int:
    _busy, log, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(log - done)


async def test_checkpoint_copies_the_log_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = write_rows(path, 200)
    size_before = path.stat().st_size
    checkpointer = Checkpointer(str(path))
    await checkpointer.checkpoint()
    assert checkpointer.checkpoints == 1
    assert path.stat().st_size > size_before  # the pages moved from the log to the file
    assert frames_left(writer) == 0
    writer.close()


async def test_the_watcher_checkpoints_only_while_the_log_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = write_rows(path, 50)
    checkpointer = Checkpointer(str(path), interval_s=0.02)
    checkpointer.start()
    await asyncio.sleep(0.15)
    after_writes = checkpointer.checkpoints
    assert after_writes >= 1
    await asyncio.sleep(0.15)
    assert checkpointer.checkpoints == after_writes  # nothing new written: nothing to do
    write_rows(path, 10).close()
    await asyncio.sleep(0.15)
    assert checkpointer.checkpoints > after_writes
    await checkpointer.close()
    writer.close()


def log_frames(connection: sqlite3.Connection) -> int:
    _busy, log, _done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(log)


async def test_a_long_log_is_restarted_so_it_cannot_grow_without_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "RESTART_FRAMES", 20)
    path = tmp_path / "c.db"
    writer = write_rows(path, 5)
    checkpointer = Checkpointer(str(path))
    await checkpointer.checkpoint()
    assert checkpointer.restarts == 0  # a short log is left to PASSIVE checkpoints
    writer.execute(  # some 40 pages in one commit
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
        " INSERT INTO t SELECT randomblob(500) FROM n"
    )
    await checkpointer.checkpoint()
    assert checkpointer.restarts == 1
    writer.execute("INSERT INTO t VALUES ('next')")
    assert log_frames(writer) <= 2  # the next commit wrote at the start of the log again
    writer.close()


async def test_the_bots_connections_cap_what_a_restarted_log_keeps(tmp_path: Path) -> None:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        async with db.read() as tx:
            limit = (await tx.conn.exec_driver_sql("PRAGMA journal_size_limit")).scalar()
    finally:
        await db.close()
    assert limit == checkpoint.JOURNAL_SIZE_LIMIT


async def test_the_watcher_runs_while_the_event_loop_never_waits(tmp_path: Path) -> None:
    # A loop busy with work that never awaits anything runs no timers; the log must still
    # be checkpointed meanwhile.
    path = tmp_path / "c.db"
    checkpointer = Checkpointer(str(path), interval_s=0.02)
    checkpointer.start()
    writer = write_rows(path, 0)
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # no await in here
        writer.execute("INSERT INTO t VALUES (randomblob(500))")
        time.sleep(0.001)  # noqa: ASYNC251 - the point: the loop is held
    assert checkpointer.checkpoints >= 3
    await checkpointer.close()
    writer.close()
