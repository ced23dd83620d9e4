"""Shared fixtures: a data key, settings on a temporary SQLite file, an offline bot.

With ``MISTRI_TEST_POSTGRES_URL`` set (tools/pg.sh prints one), every test on a database
(``db``, ``engine``, ``bot``) runs twice: on a SQLite file and on PostgreSQL. A test marked
``sqlite_only`` (raw files, WAL, SQLite's own handle) is skipped on PostgreSQL with its reason.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr
from telegram import Update

# Time fields as timedelta, as python-telegram-bot will do by default: no deprecation noise.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from service.config import Settings
from service.runtime import Runtime, start
from storage import migrate, technicians
from storage.crypto import DataKey, Keyring, install_keyring
from storage.database import Database
from tests.postgres import Postgres

# Properties are checked here, speed in bench/: a 200 ms deadline per example only measures how
# busy the machine is (CI runs the suite on every core, beside other work).
hypothesis_settings.register_profile("mistri", deadline=None)
hypothesis_settings.load_profile("mistri")

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
TOKEN = "7000000001:TEST-offline-token-000000000000000"

#: The PostgreSQL the tests also run on (tools/pg.sh), or "" for SQLite alone.
POSTGRES_URL = os.environ.get("MISTRI_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker for tests that only mean something on SQLite."""
    config.addinivalue_line(
        "markers", "sqlite_only(reason): a SQLite matter (files, WAL); skipped on PostgreSQL"
    )


def pytest_report_header(config: pytest.Config) -> str:
    """Say in the header which databases the tests run on."""
    if not POSTGRES_URL:
        return (
            "PostgreSQL: not configured (set MISTRI_TEST_POSTGRES_URL, see tools/pg.sh)"
            " — SQLite only"
        )
    shown = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    return f"PostgreSQL: {shown} — tests on a database run on SQLite and on PostgreSQL"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Worker processes for ``-n auto``: one per core for a folder, none for files or tests.

    The whole suite is mostly waiting on processes and imports and halves on two cores; a file
    or a test asked for by name is quicker without starting workers, and prints as it did.
    """
    named = [arg for arg in config.args if not Path(arg.split("::")[0]).is_dir()]
    if named:
        return 0
    return min(os.cpu_count() or 1, 4)


@pytest.fixture(autouse=True)
def _keyring() -> Keyring:
    """Every test runs with a known data key installed."""
    keyring = Keyring(DataKey.from_secret(TEST_SECRET))
    install_keyring(keyring)
    return keyring


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with every migration applied, made once per test process.

    Running the migrations takes a quarter of a second; hundreds of tests start on a fresh
    database, so each gets a copy of this file instead (``fresh_database``).
    """
    path = tmp_path_factory.mktemp("migrated") / "template.db"

    async def make() -> None:
        install_keyring(Keyring(DataKey.from_secret(TEST_SECRET)))
        database = Database.open(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(database.engine)
        await database.close()

    asyncio.run(make())
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no -wal left
    return path


def fresh_database(template: Path, target: Path) -> None:
    """Put a copy of the migrated ``template`` at ``target``, unless a test made one already."""
    if not target.exists():
        shutil.copy(template, target)  # with its mode, 0600, as the bot makes a database


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    """This process's migrated PostgreSQL template (None without MISTRI_TEST_POSTGRES_URL)."""
    if not POSTGRES_URL:
        yield None
        return
    cluster = Postgres(POSTGRES_URL)
    cluster.make_template()
    try:
        yield cluster
    finally:
        cluster.drop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database a test runs on: ``sqlite``, then ``postgresql`` when there is one."""
    if request.param == "postgresql":
        marker = request.node.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            pytest.skip(f"SQLite only: {reason}" if reason else "SQLite only")
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, migrated: Path, postgres: Postgres | None
) -> str:
    """The URL of a fresh migrated database: a SQLite file, or a PostgreSQL database."""
    if backend == "postgresql":
        assert postgres is not None
        return await postgres.fresh()
    fresh_database(migrated, tmp_path / "test.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A database with every migration applied, as the bot opens it (SQLite, PostgreSQL)."""
    database = Database.open(database_url)
    await migrate.upgrade(database.engine)  # nothing left to do: checks it, as the bot does
    yield database
    await database.close()


@pytest.fixture
async def engine(db: Database) -> AsyncEngine:
    """The engine of :func:`db` (for tests that read or write rows as they are)."""
    return db.engine


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh SQLite file, with a fixed key and no .env influence."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        data_key=SecretStr(TEST_SECRET),
        telegram_token=None,
        admin_chat_id=-100500,
        support_phone="+8809612345678",
        support_email="help@mistri.services",
    )


@dataclass
class Bot:
    """An offline bot (the production runtime) with its fake Bot API, for end-to-end tests."""

    api: FakeBotApi
    runtime: Runtime

    async def send(self, update: dict[str, Any]) -> None:
        """Process one update (Bot API JSON) through the real runtime.

        Then deliver what it queued in the outbox, so a test sees every notice it caused.
        """
        await self.runtime.process(Update.de_json(update, self.runtime.bot))
        await self.runtime.settle()

    async def add_technician(
        self,
        telegram_id: int,
        *,
        name: str = "Karim Uddin",
        phone: str = "+8801812345678",
        services: tuple[str, ...] = ("plumbing",),
        areas: tuple[str, ...] = ("all",),
        lang: str = "en",
    ) -> int:
        """Register a technician directly in the database; returns their id."""
        async with self.runtime.db.transaction() as tx:
            technician = await technicians.add(
                tx,
                person=address(telegram_id),
                name=name,
                phone=phone,
                services=list(services),
                areas=list(areas),
                lang=lang,
            )
        return technician.id or 0


@pytest.fixture
async def bot(settings: Settings, database_url: str) -> AsyncIterator[Bot]:
    """A started offline bot on a fresh database (no rate limiter, no network).

    ``settings`` is moved to that database, so a test that takes both sees where the bot is.
    """
    settings.database_url = database_url  # the same file on SQLite
    api = FakeBotApi()
    runtime = await start(settings, token=TOKEN, request=OfflineRequest(api), rate_limit=False)
    try:
        yield Bot(api, runtime)
    finally:
        await runtime.close()
