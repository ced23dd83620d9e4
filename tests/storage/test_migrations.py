"""Migrations match the models, and the key check refuses a wrong key."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from storage import migrate
from storage.crypto import DataKey, Keyring, WrongKeyError
from storage.database import Database, create_engine
from storage.keys import load_keyring, verify_key
from tests.postgres import Postgres


async def test_migrations_produce_the_models_schema(database_url: str) -> None:
    """On SQLite and on PostgreSQL (a copy of the template the migrations made)."""
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    assert not await migrate.pending(engine)

    def diff(connection):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    await engine.dispose()
    # Encrypted columns are LargeBinary in both; anything else is drift.
    assert [d for d in differences if d[0] not in ("modify_type",)] == []


async def test_migrations_go_all_the_way_down_and_up_again(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate.downgrade(engine, "base")
    assert await migrate.pending(engine)
    await migrate.upgrade(engine)
    assert not await migrate.pending(engine)
    await engine.dispose()


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


# --- 0007: people, chats and messages by channel -------------------------------------------

ROWS_0006 = """
INSERT INTO customers (id, telegram_id, lang, created_at, updated_at)
    VALUES (1, 5001001, 'bn', '2026-01-01', '2026-01-01');
INSERT INTO technicians (id, telegram_id, services, areas, active, status, available, lang,
    created_at) VALUES (1, 9001001, 'plumbing', 'all', 1, 'approved', 1, 'en', '2026-01-01');
INSERT INTO technicians (id, telegram_id, services, areas, active, status, available, lang,
    created_at) VALUES (2, -2, 'plumbing', 'all', 0, 'approved', 1, 'en', '2026-01-01');
INSERT INTO orders (id, reference, draft_id, customer_id, lang, service, area, visit_date,
    visit_part, status, technician_id, created_at, updated_at)
    VALUES (1, 'MS-AAAA', 'd1', 1, 'bn', 'plumbing', 'mirpur', '2026-01-02', 'morning',
    'assigned', 1, '2026-01-01', '2026-01-01');
INSERT INTO job_offers (id, order_id, technician_id, status, chat_id, message_id,
    contact_message_id, location_message_id, created_at)
    VALUES (1, 1, 1, 'accepted', 9001001, 11, 12, 13, '2026-01-01');
INSERT INTO job_offers (id, order_id, technician_id, status, chat_id, message_id, created_at)
    VALUES (2, 1, 2, 'expired', 0, 21, '2026-01-01');
INSERT INTO job_views (offer_id, message_id) VALUES (1, 14), (1, 9);
INSERT INTO outbox (id, chat_id, kind, status, attempts, due_at, created_at, message_id,
    location_message_id, offer_id, order_id)
    VALUES (1, 9001001, 'contact', 'sent', 1, '2026-01-01', '2026-01-01', 12, 13, 1, 1);
INSERT INTO outbox (id, chat_id, kind, status, attempts, due_at, created_at, order_id)
    VALUES (2, -100500, 'escalation', 'pending', 0, '2026-01-01', '2026-01-01', 1);
INSERT INTO conversation_sessions (user_id, lang, flow, step, data, updated_at)
    VALUES (5001001, 'bn', 'booking', 'phone', X'0102', '2026-01-01');
"""


def _rows(path: Path, query: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


async def _migrate(path: Path, revision: str, *, down: bool = False) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        if down:
            await migrate.downgrade(engine, revision)
        else:
            await migrate.upgrade(engine, revision)
    finally:
        await engine.dispose()


async def test_0007_carries_telegram_rows_over_and_back(tmp_path: Path) -> None:
    path = tmp_path / "filled.db"
    await _migrate(path, "0006")
    connection = sqlite3.connect(path)
    connection.executescript(ROWS_0006)
    connection.close()

    await _migrate(path, "head")
    assert _rows(path, "SELECT id, channel, external_id FROM customers") == [
        (1, "telegram", "5001001")
    ]
    # A technician who left (a negative placeholder) keeps no id at all.
    assert _rows(path, "SELECT id, channel, external_id FROM technicians ORDER BY id") == [
        (1, "telegram", "9001001"),
        (2, "telegram", None),
    ]
    assert _rows(
        path,
        "SELECT id, channel, chat_id, message_id, contact_message_id, location_message_id"
        " FROM job_offers ORDER BY id",
    ) == [(1, "telegram", "9001001", "11", "12", "13"), (2, "telegram", None, "21", None, None)]
    assert sorted(_rows(path, "SELECT offer_id, message_id FROM job_views")) == [
        (1, "14"),
        (1, "9"),
    ]
    assert _rows(
        path,
        "SELECT id, channel, chat_id, message_id, location_message_id FROM outbox ORDER BY id",
    ) == [(1, "telegram", "9001001", "12", "13"), (2, "telegram", "-100500", None, None)]
    assert _rows(
        path, "SELECT channel, person_id, flow, step, data FROM conversation_sessions"
    ) == [("telegram", "5001001", "booking", "phone", b"\x01\x02")]
    assert _rows(path, "PRAGMA foreign_key_check") == []

    await _migrate(path, "0006", down=True)
    assert _rows(path, "SELECT id, telegram_id FROM customers") == [(1, 5001001)]
    assert _rows(path, "SELECT id, telegram_id FROM technicians ORDER BY id") == [
        (1, 9001001),
        (2, -2),
    ]
    assert _rows(
        path,
        "SELECT id, chat_id, message_id, contact_message_id, location_message_id"
        " FROM job_offers ORDER BY id",
    ) == [(1, 9001001, 11, 12, 13), (2, 0, 21, None, None)]
    assert sorted(_rows(path, "SELECT offer_id, message_id FROM job_views")) == [(1, 9), (1, 14)]
    assert _rows(path, "SELECT id, chat_id, message_id FROM outbox ORDER BY id") == [
        (1, 9001001, 12),
        (2, -100500, None),
    ]
    assert _rows(path, "SELECT user_id, flow, data FROM conversation_sessions") == [
        (5001001, "booking", b"\x01\x02")
    ]
    assert _rows(path, "PRAGMA foreign_key_check") == []


async def test_0007_downgrade_refuses_rows_of_other_channels(tmp_path: Path) -> None:
    path = tmp_path / "whatsapp.db"
    await _migrate(path, "head")
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO customers (channel, external_id, lang, created_at, updated_at)"
        " VALUES ('whatsapp', '8801712345678', 'bn', '2026-01-01', '2026-01-01')"
    )
    connection.commit()
    connection.close()
    with pytest.raises(RuntimeError, match="other than Telegram"):
        await _migrate(path, "0006", down=True)
    assert _rows(path, "SELECT channel, external_id FROM customers") == [
        ("whatsapp", "8801712345678")
    ]


async def test_workers_starting_together_migrate_a_postgresql_database_once(
    postgres: Postgres | None,
) -> None:
    if postgres is None:
        pytest.skip("no PostgreSQL (MISTRI_TEST_POSTGRES_URL)")
    name = f"{postgres.test}_together"
    admin = await postgres._admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        engines = [Database.open(postgres.url_of(name)) for _ in range(3)]
        try:
            # Three workers apply the migrations at the same moment: each waits its turn.
            # (Without the lock they deadlock on each other's tables, or one fails.)
            async with asyncio.timeout(60):
                await asyncio.gather(*(migrate.upgrade(db.engine) for db in engines))
            assert not await migrate.pending(engines[0].engine)
        finally:
            for db in engines:
                await db.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
