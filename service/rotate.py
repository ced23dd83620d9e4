"""``mistri-bot keys rotate``: re-encrypt personal data under a new key, resumably.

Where the key lives decides how the new one arrives:

- key file (``MISTRI_DATA_KEY`` unset): a new key is generated and written as the first line
  of the key file, the old one kept below it until every row is done, then dropped;
- ``MISTRI_DATA_KEY``: the operator sets ``"<new>,<old>"`` and runs the command; afterwards
  they set it to ``<new>`` alone. This command never prints a key.

Killed at any point, the command can simply be run again: it carries on where it stopped (see
:mod:`storage.rotation`). Progress goes to stderr, the summary to stdout.

It refuses to start while any other process has the database open (a running bot, the demo, a
command): such a process holds the old key alone, and what it wrote during or after the
rotation would be unreadable once the old key is dropped (see :mod:`storage.inuse`). Until
it has finished, the processes that try to open the database refuse to start in turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from service.config import Settings
from service.runtime import StartupError, open_database
from storage import inuse, rotation
from storage.crypto import DataKey, Keyring, install_keyring, new_secret
from storage.files import MissingDirectoryError
from storage.keys import key_file_path, read_key_file, split_secrets, write_key_file

#: Environment knobs: rows per transaction, and a pause between batches (milliseconds) that
#: leaves a live database more room; tests use both to make a rotation slow enough to kill.
BATCH_SIZE_VARIABLE = "MISTRI_ROTATE_BATCH_SIZE"
PAUSE_VARIABLE = "MISTRI_ROTATE_PAUSE_MS"

#: How to make a new key, for the message that asks for one (keys are never printed).
_GENERATE = 'python -c "import secrets;print(secrets.token_hex(32))"'

#: Seconds between redraws of the progress bar on a terminal.
_REDRAW_S = 0.1
_BAR_WIDTH = 24


class RotateRefused(Exception):
    """The configuration does not allow a rotation; one line, exit status 2."""


class ProgressBar:
    """Rows done per table and in total: redrawn in place on a terminal, else a line a table."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._pending: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._drawn = 0.0

    def begin(self, pending: Mapping[str, int]) -> None:
        """A pass starts: remember how many rows each table has to do."""
        self._pending = dict(pending)
        self._done = dict.fromkeys(pending, 0)

    def advance(self, table: str, rows: int) -> None:
        """Count ``rows`` more rows of ``table``; redraw at most every 0.1 s."""
        self._done[table] = self._done.get(table, 0) + rows
        now = time.monotonic()
        if self._tty and now - self._drawn >= _REDRAW_S:
            self._drawn = now
            self._stream.write("\r" + self._line(table))
            self._stream.flush()

    def table_done(self, table: str) -> None:
        """Finish the table's line."""
        line = self._line(table)
        self._stream.write(("\r" + line + "\n") if self._tty else line + "\n")
        self._stream.flush()

    def _line(self, table: str) -> str:
        done, pending = self._done.get(table, 0), self._pending.get(table, 0)
        total_done, total = sum(self._done.values()), sum(self._pending.values())
        filled = _BAR_WIDTH * done // pending if pending else _BAR_WIDTH
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        return (
            f"keys rotate: {table:<22} [{bar}] {done:>9,}/{pending:,} rows"
            f"  (all tables {total_done:,}/{total:,})"
        )


def _tuning(environ: Mapping[str, str]) -> tuple[int, float]:
    """Read the batch size and pause from the environment."""
    try:
        batch_size = int(environ.get(BATCH_SIZE_VARIABLE) or rotation.BATCH_SIZE)
        pause_ms = float(environ.get(PAUSE_VARIABLE) or 0)
    except ValueError as error:
        raise RotateRefused(f"{BATCH_SIZE_VARIABLE} and {PAUSE_VARIABLE} are numbers") from error
    if batch_size < 1 or pause_ms < 0:
        raise RotateRefused(f"{BATCH_SIZE_VARIABLE} must be ≥ 1 and {PAUSE_VARIABLE} ≥ 0")
    return batch_size, pause_ms / 1000


def _configured_secrets(settings: Settings) -> list[str] | None:
    """Return the keys of ``MISTRI_DATA_KEY`` (new first), refusing a single key."""
    if settings.data_key is None:
        return None
    secrets = split_secrets(settings.data_key.get_secret_value())
    if len(secrets) < 2:
        raise RotateRefused(
            'to rotate, set MISTRI_DATA_KEY="<new>,<old>" (the current key second; make the '
            f"new one with: {_GENERATE}) and run keys rotate again"
        )
    _refuse_reused_key(secrets)
    return secrets


def _refuse_reused_key(secrets: list[str]) -> None:
    new = DataKey.from_secret(secrets[0]).key_id
    if any(DataKey.from_secret(old).key_id == new for old in secrets[1:]):
        raise RotateRefused("the new data key is the same as an old one: generate a new one")


async def _alone(settings: Settings) -> inuse.InUse:
    """Take the database's in-use lock exclusively: no other process may have it open."""
    try:
        return await inuse.acquire(settings.database_url, exclusive=True)
    except inuse.DatabaseInUse as error:
        raise RotateRefused(
            "the database is in use by another mistri-bot process (a running bot, the demo, a "
            "command or another keys rotate): stop it, then run keys rotate again"
        ) from error
    except MissingDirectoryError as error:
        raise StartupError(f"cannot open the database: {error}") from error
    except OSError as error:
        raise StartupError(f"cannot open the database: {type(error).__name__}") from error


def _write_keys(key_file: Path, secrets: list[str]) -> None:
    try:
        write_key_file(key_file, secrets)
    except OSError as error:
        raise rotation.RotationError(
            f"cannot write the key file {key_file}: {error.strerror or error}"
        ) from error


@contextlib.contextmanager
def _exclusive(key_file: Path) -> Iterator[None]:
    """Hold a lock beside the key file: two rotations would each invent a different new key.

    The lock file is removed when done; a run that locked a file removed meanwhile checks
    that the path is still the file it locked, so two runs never both hold "the" lock.
    """
    lock_path = key_file.with_name(f"{key_file.name}.lock")
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(lock_path).st_ino != os.fstat(fd).st_ino:
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError) as error:
            raise rotation.RotationError(
                "another keys rotate is running on this database"
            ) from error
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)  # still locked: nobody can take it in between
    finally:
        os.close(fd)  # closing releases the lock


async def rotate_keys(
    settings: Settings, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Rotate the data key of the configured database; see the module docstring.

    Raises:
        RotateRefused: the configuration does not allow a rotation, or another process has
            the database open (one line for stderr).
        rotation.RotationError: the rotation could not finish (one line for stderr).
        service.runtime.StartupError: wrong key or unreachable database.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    batch_size, pause_s = _tuning(os.environ)
    secrets = _configured_secrets(settings)
    key_file = None if secrets is not None else key_file_path(settings.database_url)
    if key_file is not None and not key_file.exists():
        raise RotateRefused(
            f"no data key to rotate: MISTRI_DATA_KEY is unset and {key_file} does not exist"
        )
    lock = _exclusive(key_file) if key_file is not None else contextlib.nullcontext()
    with lock:
        # Held until the key file is final: a process that starts meanwhile refuses, rather
        # than read a key that is about to go.
        alone = await _alone(settings)
        try:
            # Opening checks the configured key(s) against the database before anything
            # changes.
            db = await open_database(settings, in_use=alone)
            try:
                if key_file is not None:
                    secrets = read_key_file(key_file)
                    if len(secrets) == 1:
                        # Written before any row moves: a kill from here on leaves both keys
                        # on disk, and the next run resumes towards this same new key.
                        secrets = [new_secret(), *secrets]
                        _write_keys(key_file, secrets)
                    _refuse_reused_key(secrets)
                assert secrets is not None
                ring = Keyring.from_secrets(secrets)
                install_keyring(ring)
                report = await rotation.rotate(
                    db.engine,
                    ring,
                    batch_size=batch_size,
                    pause_s=pause_s,
                    progress=ProgressBar(err),
                )
            finally:
                await db.close()
            if key_file is not None:
                # Only now: the key check moved to the new key once no value needed the old.
                _write_keys(key_file, secrets[:1])
        finally:
            await alone.release()
    print(
        f"re-encrypted {report.values:,} values in {report.rows:,} rows "
        f"({report.seconds:.1f} s, {report.rate:,.0f} values/s); "
        f"the data key is now {ring.current.key_id}",
        file=out,
    )
    if key_file is None:
        print(
            "now set MISTRI_DATA_KEY to the new key alone (drop the old one after the comma) "
            "and restart the bot",
            file=out,
        )
    else:
        print(f"the old key has been removed from {key_file}", file=out)
    return 0
