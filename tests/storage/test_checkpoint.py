"""WAL checkpoints in a worker thread: the log is copied into the database file."""

import asyncio
import sqlite3
from pathlib import Path

from storage.checkpoint import Checkpointer


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
