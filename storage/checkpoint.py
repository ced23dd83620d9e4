"""WAL checkpoints off the event loop.

The bot's own SQLite connections never checkpoint on commit (``wal_autocheckpoint=0``): a
checkpoint copies the write-ahead log into the database file and syncs it to disk, the only
database work that waits on the disk, and those connections run on the event loop's thread.
This task does it from a worker thread instead, on its own connection, about once a second
while the log is being written to, and once more at shutdown.

A PASSIVE checkpoint never makes a writer wait, but under steady traffic it never catches up
either: frames committed while it copies are left for the next one, so the log is never found
fully copied, never started again from its beginning, and grows without end (gigabytes in a
long benchmark; every page read then searches a longer log index). When the log holds more
than :data:`RESTART_FRAMES` after the PASSIVE pass, a RESTART follows: it copies the little
left, holding writers back for that moment only, so the next commit starts the log afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

#: Look at the log this often, in seconds.
INTERVAL_S = 1.0

#: A log longer than this (in 4 KiB pages) after a PASSIVE checkpoint is restarted.
RESTART_FRAMES = 2_000

#: What is left of the log file once it restarts (bytes); set on every bot connection.
JOURNAL_SIZE_LIMIT = 16 * 2**20


class Checkpointer:
    """Keeps the write-ahead log of one SQLite file short, from a worker thread."""

    def __init__(self, path: str, *, interval_s: float = INTERVAL_S) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._interval = interval_s
        self._seen: tuple[int, int] | None = None
        self._truncate = False
        self._task: asyncio.Task[None] | None = None
        #: Checkpoints taken, and how many restarted the log, for tests and the benchmark.
        self.checkpoints = 0
        self.restarts = 0

    def start(self) -> None:
        """Start watching the log."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="wal-checkpointer")

    async def close(self) -> None:
        """Stop watching and take a last checkpoint."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.checkpoint()

    async def checkpoint(self) -> None:
        """Copy the log into the database file, in a worker thread."""
        truncate, self._truncate = self._truncate, False
        try:
            await asyncio.to_thread(self._checkpoint, truncate)
        except sqlite3.Error as error:  # the next round tries again
            log.warning("WAL checkpoint failed: %s", type(error).__name__)
            self._truncate = self._truncate or truncate
            return
        self.checkpoints += 1

    async def after_erasure(self) -> None:
        """Empty the log now: its older frames still hold what was just erased (encrypted)."""
        self._truncate = True
        await self.checkpoint()

    def _checkpoint(self, truncate: bool) -> None:
        connection = sqlite3.connect(self._path, timeout=5.0)
        try:
            # PASSIVE never makes a writer wait; what it cannot copy now, a later round does.
            # TRUNCATE (after an erasure) waits for readers, copies everything and empties the
            # file, so no old copy of an erased page stays on disk.
            mode = "TRUNCATE" if truncate else "PASSIVE"
            busy, frames, _done = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            if not busy and not truncate and frames > RESTART_FRAMES:
                busy, frames, _done = connection.execute(
                    "PRAGMA wal_checkpoint(RESTART)"
                ).fetchone()
                self.restarts += 1
            if busy:
                raise sqlite3.OperationalError("checkpoint blocked")
        finally:
            connection.close()

    def _log_changed(self) -> bool:
        try:
            stat = self._wal.stat()
        except FileNotFoundError:
            return False
        seen, self._seen = self._seen, (stat.st_mtime_ns, stat.st_size)
        return seen != self._seen

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self._log_changed():
                await self.checkpoint()
