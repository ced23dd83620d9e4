"""The fake Bot API's ASGI app: Bot API calls over HTTP, form-encoded or JSON, each reported."""

from __future__ import annotations

import json
from typing import Any

import httpx
from telegram import Bot
from telegram.request import HTTPXRequest

from channels.telegram.fake_api import FakeBotApi
from channels.telegram.fake_api.asgi import bot_api_app

TOKEN = "7000000001:ASGI-test-token"


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake")


async def test_form_encoded_and_json_calls_are_carried_out_and_reported() -> None:
    api = FakeBotApi()
    seen: list[tuple[str, str, dict[str, Any], int]] = []
    app = bot_api_app(api, on_call=lambda *call: seen.append(call))
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "go:yes"}]]}
    async with client(app) as http:
        form = await http.post(
            f"/bot{TOKEN}/sendMessage",
            data={"chat_id": "42", "text": "hello", "reply_markup": json.dumps(markup)},
        )
        sent = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 42, "text": "again"})
        me = await http.post(f"/bot{TOKEN}/getMe")
    assert form.status_code == sent.status_code == me.status_code == 200
    assert form.json()["result"]["reply_markup"] == markup
    assert api.texts(42) == ["hello", "again"]
    assert me.json()["result"]["is_bot"] is True
    # Calls that name a chat are reported, as received; getMe names none.
    assert [(chat, method, status) for chat, method, _, status in seen] == [
        ("42", "sendMessage", 200),
        ("42", "sendMessage", 200),
    ]
    assert seen[0][2]["text"] == "hello"


async def test_a_wrong_token_is_unauthorized_and_failures_are_telegrams() -> None:
    api = FakeBotApi()
    seen: list[int] = []
    app = bot_api_app(
        api, token=TOKEN, on_call=lambda chat, method, params, status: seen.append(status)
    )
    api.fail_next(7, 403, "Forbidden: bot was blocked by the user")
    async with client(app) as http:
        wrong = await http.post("/bot1:other/sendMessage", data={"chat_id": "7", "text": "x"})
        blocked = await http.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "x"})
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert blocked.status_code == 403
    assert blocked.json()["ok"] is False
    assert seen == [403]  # the unauthorized call never reached the fake
    assert api.texts(7) == []


async def test_python_telegram_bot_talks_to_it_as_to_telegram() -> None:
    api = FakeBotApi()
    transport = httpx.ASGITransport(app=bot_api_app(api, token=TOKEN))
    request = HTTPXRequest(httpx_kwargs={"transport": transport})
    bot = Bot(TOKEN, base_url="http://fake/bot", request=request)
    async with bot:
        message = await bot.send_message(99, "from the bot")
    assert message.text == "from the bot"
    assert api.texts(99) == ["from the bot"]
