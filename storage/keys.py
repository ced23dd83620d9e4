"""Where the data key comes from, and the check that it is the key the data was written with.

A configuration may hold several keys while a rotation is under way: ``MISTRI_DATA_KEY`` as a
comma-separated list, or the key file one key per line. The first is current (it encrypts),
the others only decrypt. See :mod:`storage.rotation`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Table, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.crypto import Keyring, WrongKeyError, new_secret
from storage.database import sqlite_path
from storage.models import Meta

_CHECK_KEY = "key_check"
_CHECK_PURPOSE = "meta.key_check"
_CHECK_VALUE = b"mistri-services"
_meta: Table = Meta.__table__  # type: ignore[attr-defined]

#: The shortest key accepted as the current one. :func:`new_secret` makes 64 characters; the
#: keys are derived from it without stretching (HKDF), so it must be hard to guess by itself.
MIN_SECRET_LENGTH = 32
#: How to make a key, for messages that ask for one (keys are never printed).
GENERATE = 'python -c "import secrets;print(secrets.token_hex(32))"'
#: Group and others: a key file must grant them nothing.
_OTHERS = 0o077
#: Hard links are not everywhere (some network and FAT file systems): these say so.
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS})


class UnusableKeyError(Exception):
    """The data key cannot be used (missing, damaged, exposed, too short); one line saying why.

    The message names the key file, never a key.
    """


def key_file_path(database_url: str) -> Path:
    """Return the key file beside the SQLite database (or in the working directory)."""
    path = sqlite_path(database_url)
    return Path(f"{path}.key") if path else Path("mistri.key")


def split_secrets(data_key: str) -> list[str]:
    """Split ``MISTRI_DATA_KEY`` into its keys: ``"<new>,<old>"`` during a rotation."""
    return [part.strip() for part in data_key.split(",") if part.strip()]


def read_key_file(path: Path) -> list[str]:
    """Return the secrets of a key file, one per line, the current one first.

    Every line must be a key as :func:`new_secret` makes them: printable ASCII, no space, at
    least :data:`MIN_SECRET_LENGTH` characters. Anything else is a damaged file (a disk that
    filled up, an editor's stray character), and a damaged key must never become a key.

    Raises:
        UnusableKeyError: the file cannot be read, or is empty or damaged.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UnusableKeyError(
            f"cannot read the key file {path}: {error.strerror or error}"
        ) from error
    try:
        lines = raw.decode("ascii").split("\n")
    except UnicodeDecodeError as error:
        raise UnusableKeyError(
            f"the key file {path} is damaged: it holds bytes that are not ASCII text"
        ) from error
    secrets = [line.strip() for line in lines if line.strip()]
    if not secrets:
        raise UnusableKeyError(
            f"the key file {path} is empty: restore it from a backup (or delete it, if the "
            "database holds no data yet)"
        )
    for number, secret in enumerate(secrets, 1):
        if not all(char.isprintable() and not char.isspace() for char in secret):
            raise UnusableKeyError(
                f"the key file {path} is damaged: line {number} holds spaces or control characters"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise UnusableKeyError(
                f"the key file {path} is damaged: line {number} is too short "
                f"({len(secret)} characters; a key has at least {MIN_SECRET_LENGTH})"
            )
    return secrets


def check_private(path: Path) -> None:
    """Refuse a key file that group or others may read or change.

    Raises:
        UnusableKeyError: the file grants group or others any permission.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        raise UnusableKeyError(
            f"cannot read the key file {path}: {error.strerror or error}"
        ) from error
    if mode & _OTHERS:
        raise UnusableKeyError(
            f"the key file {path} can be read or changed by other users (mode {mode:o}): "
            f"run chmod 600 {path}"
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)  # the new name must survive a crash too
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes, flags: int) -> None:
    """Write ``data`` to ``path`` (mode 0600) and sync it; remove it if anything fails."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # a leftover file may have been created otherwise
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_key_file(path: Path, secrets: Sequence[str]) -> None:
    """Replace the key file with ``secrets``, one per line, atomically and with mode 0600.

    A kill at any moment leaves either the old file or the new one, never a torn one: the
    keys go to a temporary file that is synced, then renamed over the key file. A failure
    (a full disk) leaves the old file as it was and no temporary file.
    """
    temporary = path.with_name(f"{path.name}.tmp")
    _write_private(temporary, "".join(f"{secret}\n" for secret in secrets).encode(), os.O_TRUNC)
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def create_key_file(path: Path) -> bool:
    """Write a new key to ``path`` unless a key file is there; True when this call made it.

    The key is written whole to a temporary file (mode 0600) and synced, then published under
    its name with a hard link, which fails rather than replace a key file another process made
    meanwhile (that one is used). A failure (a full disk) leaves no key file and no temporary.

    Raises:
        UnusableKeyError: the key file cannot be written (one line saying why).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        _write_private(temporary, f"{new_secret()}\n".encode(), os.O_EXCL)
        try:
            created = _publish(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        if created:
            _fsync_directory(path.parent)
    except OSError as error:
        raise UnusableKeyError(
            f"cannot write the new key file {path}: {error.strerror or error}"
        ) from error
    return created


def _publish(temporary: Path, path: Path) -> bool:
    """Give ``temporary`` the name ``path`` unless it is taken; True when it was free."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
        # No hard links here: an exclusive create of an empty name, then a rename over it.
        # Another process sees either no file or an empty one for an instant; an empty key
        # file is refused (never used), and it starts again once the key is in place.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        try:
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
    return True


def load_keyring(
    data_key: str | None, database_url: str, *, may_create: bool = True
) -> tuple[Keyring, Path | None]:
    """Build the keyring from ``data_key``, or from the key file, creating it once (mode 0600).

    Either may hold several keys (comma-separated, or one per line): the first is current, the
    others decrypt only. Returns the keyring and the path of a key file created just now (None
    otherwise), so the caller can say so. ``may_create`` False: the database already holds
    values under a key, so a missing key file is lost, not new.

    Raises:
        UnusableKeyError: the key is too short, or the key file is missing (when it may not
            be created), damaged or readable by others.
    """
    if data_key:
        secrets = split_secrets(data_key) or [data_key.strip()]
        # Only the current key: older ones only decrypt, and rotating away from a short key
        # must stay possible.
        if len(secrets[0]) < MIN_SECRET_LENGTH:
            raise UnusableKeyError(
                f"MISTRI_DATA_KEY is too short: the current (first) key needs at least "
                f"{MIN_SECRET_LENGTH} characters; make one with {GENERATE}, then set "
                'MISTRI_DATA_KEY="<new>,<old>" and run mistri-bot keys rotate'
            )
        return Keyring.from_secrets(secrets), None
    path = key_file_path(database_url)
    created = None
    if not path.exists():
        if not may_create:
            raise UnusableKeyError(
                f"the key file {path} is missing, and the database holds data encrypted with "
                "it: restore the key file from a backup (or set MISTRI_DATA_KEY); no new key "
                "was made"
            )
        if create_key_file(path):
            created = path
    check_private(path)
    return Keyring.from_secrets(read_key_file(path)), created


async def has_key_check(engine: AsyncEngine) -> bool:
    """Tell whether the database holds a key check value: values were written under a key.

    Works before the migrations too (no ``meta`` table yet: nothing was written).
    """
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table(_meta.name)):
            return False
        stored = await connection.scalar(select(_meta.c.key).where(_meta.c.key == _CHECK_KEY))
    return stored is not None


async def verify_key(engine: AsyncEngine, keyring: Keyring) -> None:
    """Check the keyring against the database's check value, writing it on first use.

    The check value may be under any key of the ring: during a rotation it stays under the old
    key until every row is done (see :func:`seal_key_check`).

    Raises:
        WrongKeyError: the database was written under a key this keyring does not hold.
    """
    async with engine.begin() as connection:
        stored = await connection.scalar(select(_meta.c.value).where(_meta.c.key == _CHECK_KEY))
        if stored is None:
            sealed = keyring.encrypt(_CHECK_VALUE, _CHECK_PURPOSE)
            await connection.execute(_meta.insert().values(key=_CHECK_KEY, value=sealed))
            return
        if keyring.decrypt(bytes(stored), _CHECK_PURPOSE) != _CHECK_VALUE:
            raise WrongKeyError("the key check value does not match")


async def key_check_id(connection: AsyncConnection) -> str | None:
    """Return the id of the key the database's check value is under (None before first use)."""
    stored = await connection.scalar(select(_meta.c.value).where(_meta.c.key == _CHECK_KEY))
    return None if stored is None else Keyring.key_id_of(bytes(stored))


async def seal_key_check(connection: AsyncConnection, keyring: Keyring) -> None:
    """Write the check value under the ring's current key, in the caller's transaction."""
    sealed = keyring.encrypt(_CHECK_VALUE, _CHECK_PURPOSE)
    changed = await connection.execute(
        update(_meta).where(_meta.c.key == _CHECK_KEY).values(value=sealed)
    )
    if changed.rowcount == 0:
        await connection.execute(_meta.insert().values(key=_CHECK_KEY, value=sealed))
