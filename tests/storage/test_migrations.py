"""Migrations match the models, and the key check refuses a wrong key."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from storage import migrate
from storage.crypto import DataKey, Keyring, WrongKeyError
from storage.engine import create_engine
from storage.keys import load_keyring, verify_key


async def test_migrations_produce_the_models_schema(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await migrate.upgrade(engine)
    assert not await migrate.pending(engine)

    def diff(connection):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    await engine.dispose()
    # Encrypted columns are LargeBinary in both; anything else is drift.
    assert [d for d in differences if d[0] not in ("modify_type",)] == []


async def test_wrong_key_is_detected(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    await migrate.upgrade(engine)
    await verify_key(engine, Keyring(DataKey.from_secret("right")))
    await verify_key(engine, Keyring(DataKey.from_secret("right")))
    with pytest.raises(WrongKeyError):
        await verify_key(engine, Keyring(DataKey.from_secret("wrong")))
    await engine.dispose()


def test_key_file_is_created_once_with_private_mode(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    first, created = load_keyring(None, url)
    assert created is not None and created.stat().st_mode & 0o777 == 0o600
    second, created_again = load_keyring(None, url)
    assert created_again is None
    assert first.current.key_id == second.current.key_id
