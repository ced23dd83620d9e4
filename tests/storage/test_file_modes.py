"""The database's files are private (mode 0600) from their first byte: database, -wal, -shm."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import inuse, migrate
from storage.database import Database
from storage.models import Meta


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files are made readable by everyone unless asked."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def write_and_keep_open(path: Path) -> Database:
    """Open the database as the bot does and write through each kind of connection it uses."""
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db.engine)
    meta = Meta.__table__  # type: ignore[attr-defined]
    async with db.transaction() as tx:
        await tx.run(meta.insert(), {"key": "probe-engine", "value": b"x"})
    await db.write([(meta.insert(), {"key": "probe-dedicated", "value": b"x"})])
    return db


@pytest.mark.usefixtures("umask_022")
async def test_a_new_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = await write_and_keep_open(path)
    try:
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(file.exists() for file in files), sorted(p.name for p in tmp_path.iterdir())
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        await db.close()
    assert mode(path) == 0o600


@pytest.mark.usefixtures("umask_022")
async def test_a_database_others_could_read_is_tightened_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)  # as an older version made it: 0644
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    os.chmod(path, 0o644)
    wal = Path(f"{path}-wal")
    os.chmod(wal, 0o644)
    caplog.set_level(logging.INFO)
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    try:
        assert mode(path) == 0o600 and mode(wal) == 0o600
        [said] = [r.getMessage() for r in caplog.records if r.name.startswith("storage")]
        assert said.startswith(f"{path}, {wal}") and "mode 600" in said
        caplog.clear()
        Database.open(f"sqlite+aiosqlite:///{path}")  # once tight, nothing more is said
        assert not [r for r in caplog.records if r.name.startswith("storage")]
    finally:
        await db.close()
        connection.close()


@pytest.mark.usefixtures("umask_022")
async def test_the_in_use_lock_file_is_private_and_kept(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'l.db'}"
    held = await inuse.acquire(url, exclusive=False)
    await held.release()
    await held.release()  # a second release does nothing
    lock = inuse.lock_file(tmp_path / "l.db")
    assert mode(lock) == 0o600
    assert lock.read_bytes() == b""
