"""WAL checkpoints off the event loop.

The bot's own SQLite connections never checkpoint on commit (``wal_autocheckpoint=0``): a
checkpoint copies the write-ahead log into the database file and syncs it to disk, the only
database work that waits on the disk, and those connections run on the event loop's thread.
A thread of its own does it instead, on its own connection, about once a second
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
import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: Look at the log this often, in seconds.
INTERVAL_S = 1.0

#: A log longer than this (in 4 KiB pages) after a PASSIVE checkpoint is restarted.
RESTART_FRAMES = 2_000

#: What is left of the log file once it restarts (bytes); set on every bot connection.
JOURNAL_SIZE_LIMIT = 16 * 2**20


class Checkpointer:
    """Keeps the write-ahead log of one SQLite file short, from a thread of its own.

    A thread, not a task of the event loop: a loop kept busy by work that never waits (a
    database on the loop's thread answers at once) would not run a timer for many seconds,
    and the log would grow all that time.
    """

    def __init__(self, path: str, *, interval_s: float = INTERVAL_S) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._interval = interval_s
        self._seen: tuple[int, int] | None = None
        self._truncate = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # One checkpoint at a time: the watcher's and one asked for (after an erasure).
        self._one_at_a_time = threading.Lock()
        #: Checkpoints taken, and how many restarted the log, for tests and the benchmark.
        self.checkpoints = 0
        self.restarts = 0

    def start(self) -> None:
        """Start watching the log."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._watch, name="wal-checkpointer", daemon=True
            )
            self._thread.start()

    async def close(self) -> None:
        """Stop watching and take a last checkpoint."""
        if self._thread is not None:
            self._stop.set()
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await self.checkpoint()

    async def checkpoint(self) -> None:
        """Copy the log into the database file, in a worker thread."""
        await asyncio.to_thread(self._checkpoint_now)

    async def after_erasure(self) -> None:
        """Empty the log now: its older frames still hold what was just erased (encrypted)."""
        self._truncate = True
        await self.checkpoint()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            if self._log_changed():
                self._checkpoint_now()

    def _checkpoint_now(self) -> None:
        with self._one_at_a_time:
            truncate, self._truncate = self._truncate, False
            try:
                self._checkpoint(truncate)
            except sqlite3.Error as error:  # the next round tries again
                log.warning("WAL checkpoint failed: %s", type(error).__name__)
                self._truncate = self._truncate or truncate
                return
            self.checkpoints += 1

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
