"""The fake Graph API's ASGI app: the Cloud API's messages endpoint over HTTP, each reported."""

from __future__ import annotations

from typing import Any

import httpx

from channels.whatsapp.fake_api import FakeGraphApi
from channels.whatsapp.fake_api.asgi import graph_app

URL = "/v21.0/100200300/messages"
AUTH = {"Authorization": "Bearer test-token"}


def text(to: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake")


async def test_messages_are_answered_as_the_cloud_api_does_and_reported() -> None:
    api = FakeGraphApi(windows=False)
    seen: list[tuple[str, dict[str, Any], int]] = []
    app = graph_app(api, on_message=lambda *message: seen.append(message))
    async with client(app) as http:
        sent = await http.post(URL, json=text("8801711000001", "hello"), headers=AUTH)
        refused = await http.post(URL, json=text("8801711000001", "x"), headers={})
    assert sent.status_code == 200
    assert sent.json()["messages"][0]["id"].startswith("wamid.")
    assert refused.status_code == 401
    assert api.sent_to("8801711000001") == [text("8801711000001", "hello")]
    assert [(to, body["text"]["body"], status) for to, body, status in seen] == [
        ("8801711000001", "hello", 200),
        ("8801711000001", "x", 401),
    ]


async def test_a_closed_window_is_refused_and_calls_can_be_forgotten() -> None:
    api = FakeGraphApi()  # windows kept: nobody wrote, so free-form text is refused
    statuses: list[int] = []
    app = graph_app(
        api, on_message=lambda to, body, status: statuses.append(status), keep_calls=False
    )
    async with client(app) as http:
        answer = await http.post(URL, json=text("8801711000002", "hi"), headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 131047
    assert statuses == [400]
    assert api.calls == []
