"""Where the data key comes from, and the check that it is the key the data was written with.

A configuration may hold several keys while a rotation is under way: ``MISTRI_DATA_KEY`` as a
comma-separated list, or the key file one key per line. The first is current (it encrypts),
the others only decrypt. See :mod:`storage.rotation`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.crypto import Keyring, WrongKeyError, new_secret
from storage.database import sqlite_path
from storage.models import Meta

_CHECK_KEY = "key_check"
_CHECK_PURPOSE = "meta.key_check"
_CHECK_VALUE = b"mistri-services"
_meta: Table = Meta.__table__  # type: ignore[attr-defined]


def key_file_path(database_url: str) -> Path:
    """Return the key file beside the SQLite database (or in the working directory)."""
    path = sqlite_path(database_url)
    return Path(f"{path}.key") if path else Path("mistri.key")


def split_secrets(data_key: str) -> list[str]:
    """Split ``MISTRI_DATA_KEY`` into its keys: ``"<new>,<old>"`` during a rotation."""
    return [part.strip() for part in data_key.split(",") if part.strip()]


def read_key_file(path: Path) -> list[str]:
    """Return the secrets of a key file, one per line, the current one first."""
    secrets = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    # An empty file keeps the meaning it always had (the key derived from ""), rather than a
    # new failure mode at start-up.
    return secrets or [""]


def write_key_file(path: Path, secrets: Sequence[str]) -> None:
    """Replace the key file with ``secrets``, one per line, atomically and with mode 0600.

    A kill at any moment leaves either the old file or the new one, never a torn one: the
    keys go to a temporary file that is synced, then renamed over the key file.
    """
    temporary = path.with_name(f"{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a leftover temporary file may have been created otherwise
        os.write(fd, "".join(f"{secret}\n" for secret in secrets).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself must survive a crash too
    finally:
        os.close(directory)


def load_keyring(data_key: str | None, database_url: str) -> tuple[Keyring, Path | None]:
    """Build the keyring from ``data_key``, or from the key file, creating it once (mode 0600).

    Either may hold several keys (comma-separated, or one per line): the first is current, the
    others decrypt only. Returns the keyring and the path of a key file created just now (None
    otherwise), so the caller can say so.
    """
    if data_key:
        secrets = split_secrets(data_key) or [data_key.strip()]
        return Keyring.from_secrets(secrets), None
    path = key_file_path(database_url)
    created = None
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_secret() + "\n")
            created = path
    return Keyring.from_secrets(read_key_file(path)), created


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
