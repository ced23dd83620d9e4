"""Shared fixtures: a data key, settings on a temporary SQLite file, an offline bot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Update

# Time fields as timedelta, as python-telegram-bot will do by default: no deprecation noise.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy.ext.asyncio import AsyncEngine

from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from service.config import Settings
from service.runtime import Runtime, start
from storage import migrate, technicians
from storage.crypto import DataKey, Keyring, install_keyring
from storage.database import Database

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
TOKEN = "7000000001:TEST-offline-token-000000000000000"


@pytest.fixture(autouse=True)
def _keyring() -> Keyring:
    """Every test runs with a known data key installed."""
    keyring = Keyring(DataKey.from_secret(TEST_SECRET))
    install_keyring(keyring)
    return keyring


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file database with every migration applied, as the bot opens it."""
    database = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await migrate.upgrade(database.engine)
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
async def bot(settings: Settings) -> AsyncIterator[Bot]:
    """A started offline bot on a fresh database (no rate limiter, no network)."""
    api = FakeBotApi()
    runtime = await start(settings, token=TOKEN, request=OfflineRequest(api), rate_limit=False)
    try:
        yield Bot(api, runtime)
    finally:
        await runtime.close()
