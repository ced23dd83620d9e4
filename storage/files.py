"""The database's files on disk: in a directory that exists, and private from the start.

A SQLite database holds ciphertext, but also Telegram ids, references, services, areas and
statuses in clear: it is nobody's business but the bot's. The file is created here, empty and
with mode 0600, before SQLite opens it; SQLite gives the files it makes beside it (``-wal``,
``-shm``, ``-journal``) the database file's own mode, so they are private too. A database left
readable by others (made by an older version, or copied) is tightened, and that is logged.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

#: Read and write for the owner alone.
PRIVATE = 0o600
#: Group and others: no bit of these may be set on any file of the database.
_OTHERS = 0o077
#: The files SQLite keeps beside a database.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


class MissingDirectoryError(Exception):
    """The database's directory does not exist; one line saying so."""


def check_directory(path: str | os.PathLike[str]) -> None:
    """Refuse a database whose directory does not exist, rather than make a new tree.

    A path with a typo would otherwise become a fresh, empty database and a new data key
    beside it, and the bot would run as if it had no customers.

    Raises:
        MissingDirectoryError: the directory does not exist (or is not a directory).
    """
    directory = Path(path).parent
    if not directory.is_dir():
        raise MissingDirectoryError(
            f"the directory {directory} does not exist (create it, or fix MISTRI_DATABASE_URL)"
        )


def create_private(path: str | os.PathLike[str]) -> bool:
    """Create the database file empty with mode 0600 if it is missing; True when created.

    An empty file is an empty database to SQLite. An existing file, and the files beside it,
    lose any permission for group and others (see :func:`tighten`). A missing directory is
    left for SQLite to report when it opens the file.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        tighten(path)
        return False
    except FileNotFoundError:
        return False
    try:
        os.fchmod(fd, PRIVATE)  # exactly 0600, whatever the umask took away
    finally:
        os.close(fd)
    return True


def tighten(path: str | os.PathLike[str]) -> None:
    """Take every permission of group and others off the database and its side files.

    Says so in one line (the files' names only), or in one line what to run when it cannot.
    """
    tightened, stuck = [], []
    for name in (os.fspath(path), *(f"{os.fspath(path)}{suffix}" for suffix in SIDE_SUFFIXES)):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
            if mode & _OTHERS:
                os.chmod(name, mode & ~_OTHERS)
                tightened.append(name)
        except FileNotFoundError:
            continue
        except OSError:
            stuck.append(name)
    if tightened:
        log.warning(
            "%s could be read by other users: now for this user alone (mode 600)",
            ", ".join(tightened),
        )
    if stuck:
        log.warning("%s can be read by other users: run chmod 600 on it", ", ".join(stuck))
