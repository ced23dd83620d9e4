"""Where the data key comes from, and the check that it is the key the data was written with."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import DataKey, Keyring, WrongKeyError, new_secret
from storage.engine import sqlite_path
from storage.models import Meta

_CHECK_KEY = "key_check"
_CHECK_PURPOSE = "meta.key_check"
_CHECK_VALUE = b"mistri-services"
_meta: Table = Meta.__table__  # type: ignore[attr-defined]


def key_file_path(database_url: str) -> Path:
    """Return the key file beside the SQLite database (or in the working directory)."""
    path = sqlite_path(database_url)
    return Path(f"{path}.key") if path else Path("mistri.key")


def load_keyring(data_key: str | None, database_url: str) -> tuple[Keyring, Path | None]:
    """Build the keyring from ``data_key``, or from the key file, creating it once (mode 0600).

    Returns the keyring and the path of a key file created just now (None otherwise), so the
    caller can say so.
    """
    if data_key:
        return Keyring(DataKey.from_secret(data_key.strip())), None
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
    return Keyring(DataKey.from_secret(path.read_text().strip())), created


async def verify_key(engine: AsyncEngine, keyring: Keyring) -> None:
    """Check the key against the database's check value, writing it on first use.

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
