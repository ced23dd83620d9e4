"""``serve``'s Telegram webhook in process: the secret header, the inbox, setWebhook.

The app runs through httpx's ASGI transport (no socket) with its lifespan entered, its bot
on the fake Bot API (``channels/telegram/fake_api``) through the offline request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from channels.telegram.channel import TelegramChannel
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.polling import ALLOWED_UPDATES
from service.config import Settings
from service.serve import WEBHOOK_MAX_CONNECTIONS, Served, build_app, opened
from service.webhooks import MAX_BODY
from storage import inbox
from tests.conftest import TOKEN

SECRET = "test-webhook-secret_0123456789"
CUSTOMER = 5550001


@pytest.fixture
def telegram_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"telegram_token": SecretStr(TOKEN), "webhook_secret": SecretStr(SECRET)}
    )


@dataclass
class Serving:
    client: httpx.AsyncClient
    served: Served
    api: FakeBotApi

    async def post(self, update: dict[str, Any] | bytes, secret: str | None = SECRET) -> Any:
        raw = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/telegram", content=raw, headers=headers)

    async def rows(self) -> list[tuple[str, str, str, int]]:
        async with self.served.db.read() as tx:
            found = await tx.execute(
                text("SELECT channel, external_id, state, attempts FROM inbox ORDER BY id")
            )
            return [tuple(row) for row in found.all()]

    async def settle(self) -> None:
        await self.served.intake.drain()
        await self.served.runtime.settle()


@asynccontextmanager
async def serving(settings: Settings, api: FakeBotApi) -> AsyncIterator[Serving]:
    held: list[Served] = []

    @asynccontextmanager
    async def open_served() -> AsyncIterator[Served]:
        async with opened(settings, telegram_request=OfflineRequest(api), offline=True) as ready:
            held.append(ready)
            yield ready

    app = build_app(open_served)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve.test") as client:
            yield Serving(client, held[0], api)


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


def replies(api: FakeBotApi) -> list[str]:
    return [text for text in api.texts(CUSTOMER) if text]


async def test_posts_without_or_with_a_wrong_secret_are_refused_and_logged_without_body(
    telegram_settings: Settings, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving(telegram_settings, api) as s:
        update = api.text_update(CUSTOMER, "Road 7, house 12")
        assert (await s.post(update, secret=None)).status_code == 403
        assert (await s.post(update, secret="not-the-secret")).status_code == 403
        assert (await s.post(update, secret=SECRET + "x")).status_code == 403
        assert await s.rows() == []
        await s.settle()
    assert replies(api) == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "without the right secret token" in logged
    assert "Road 7" not in logged and SECRET not in logged and str(CUSTOMER) not in logged


async def test_a_body_over_the_cap_or_not_an_update_is_refused(
    telegram_settings: Settings, api: FakeBotApi
) -> None:
    async with serving(telegram_settings, api) as s:
        assert (await s.post(b"{" + b" " * MAX_BODY + b"}")).status_code == 413
        assert (await s.post(b"not json")).status_code == 400
        assert (await s.post({"message": {}})).status_code == 400
        assert await s.rows() == []


async def test_an_update_is_stored_before_the_200_then_start_is_answered(
    telegram_settings: Settings, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(telegram_settings, api) as s:
        queued: list[int] = []
        real_submit = s.served.intake.submit
        # Nothing is handled until the test says so: the row must be there on its own.
        monkeypatch.setattr(s.served.intake, "submit", lambda row: queued.append(row.id))
        update = api.text_update(CUSTOMER, "/start", language_code="en")
        answer = await s.post(update)
        assert answer.status_code == 200
        assert await s.rows() == [("telegram", str(update["update_id"]), "pending", 0)]
        assert replies(api) == []
        monkeypatch.setattr(s.served.intake, "submit", real_submit)
        async with s.served.db.read() as tx:
            (row,) = await inbox.pending(tx)
        assert queued == [row.id]
        assert row.person is not None and row.person.id == str(CUSTOMER)
        s.served.intake.submit(row)
        await s.settle()
        assert await s.rows() == [("telegram", str(update["update_id"]), "done", 1)]
        assert len(replies(api)) >= 1  # /start answered through the Bot API


async def test_the_channel_sees_each_update_before_it_is_handled(
    telegram_settings: Settings, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_saw = TelegramChannel.saw

    def saw(self: TelegramChannel, update: Any) -> None:
        seen.append(update.update_id)
        real_saw(self, update)

    # As `run` does: the copies ledger learns the ids an update shows (channel.py's saw).
    monkeypatch.setattr(TelegramChannel, "saw", saw)
    async with serving(telegram_settings, api) as s:
        update = api.text_update(CUSTOMER, "/help", language_code="en")
        assert (await s.post(update)).status_code == 200
        await s.settle()
    assert seen == [update["update_id"]]


async def test_a_redelivered_update_is_acknowledged_and_handled_once(
    telegram_settings: Settings, api: FakeBotApi
) -> None:
    async with serving(telegram_settings, api) as s:
        update = api.text_update(CUSTOMER, "/help", language_code="en")
        assert (await s.post(update)).status_code == 200
        await s.settle()
        answers = replies(api)
        assert len(answers) >= 1
        # Telegram retries an update whose answer it did not get; the same one comes again.
        assert (await s.post(update)).status_code == 200
        await s.settle()
        assert replies(api) == answers
        assert [state for _, _, state, _ in await s.rows()] == ["done"]


async def test_a_button_press_through_the_webhook_is_handled(
    telegram_settings: Settings, api: FakeBotApi
) -> None:
    async with serving(telegram_settings, api) as s:
        assert (await s.post(api.text_update(CUSTOMER, "/book", language_code="en"))).is_success
        await s.settle()
        offered = api.last_message(CUSTOMER)
        assert offered is not None and offered.message_id is not None
        markup = offered.params["reply_markup"]["inline_keyboard"]
        data = markup[0][0]["callback_data"]
        before = len(api.calls)
        press = api.callback_update(CUSTOMER, data, offered.message_id, language_code="en")
        assert (await s.post(press)).status_code == 200
        await s.settle()
        assert [state for _, _, state, _ in await s.rows()] == ["done", "done"]
        assert len(api.calls) > before  # the press was answered


async def test_start_up_sets_the_webhook_with_the_secret_when_public_url_is_set(
    telegram_settings: Settings, api: FakeBotApi
) -> None:
    public = telegram_settings.model_copy(update={"public_url": "https://bot.example.com"})
    async with serving(public, api):
        pass
    (call,) = [call for call in api.calls if call.method == "setWebhook"]
    assert call.params["url"] == "https://bot.example.com/telegram"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert call.params["max_connections"] == WEBHOOK_MAX_CONNECTIONS


async def test_without_public_url_the_webhook_is_left_as_it_is(
    telegram_settings: Settings, api: FakeBotApi
) -> None:
    async with serving(telegram_settings, api):
        pass
    assert [call for call in api.calls if "Webhook" in call.method] == []


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("MISTRI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setattr("service.cli.logs.configure", lambda level: None)
    monkeypatch.setenv("MISTRI_DATA_KEY", "cli-test-secret-0123456789abcdef0123456789")
    monkeypatch.setenv("MISTRI_ADMIN_CHAT_ID", "-100500")
    monkeypatch.setenv("MISTRI_TELEGRAM_TOKEN", TOKEN)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "MISTRI_WEBHOOK_SECRET is not set"),
        ({"MISTRI_WEBHOOK_SECRET": "has spaces in it"}, "MISTRI_WEBHOOK_SECRET"),
        ({"MISTRI_WEBHOOK_SECRET": SECRET, "MISTRI_PUBLIC_URL": "bot.example.com"}, "https"),
    ],
)
def test_serve_with_a_telegram_token_refuses_without_a_good_secret_in_one_line(
    clean_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    expected: str,
) -> None:
    from service.cli import main

    for name, value in change.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mistri-bot: ") and expected in err
    assert len(err.strip().splitlines()) == 1
    assert TOKEN not in err and SECRET not in err
