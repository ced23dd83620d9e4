"""``serve``'s ASGI app in process with both fakes: the Graph API and the Telegram Bot API.

Signed webhook posts (``channels/whatsapp/fake_api``) go to the Starlette app of
``service/serve.py`` through httpx's ASGI transport (no socket); the bot's WhatsApp messages
are recorded (and checked against the Cloud API's limits) by :class:`FakeGraphApi`, its
Telegram ones (technicians, operators) by :class:`FakeBotApi`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.whatsapp.fake_api import FakeGraphApi, Webhooks, signed
from service.config import Settings
from service.serve import Served, build_app, opened

APP_SECRET = "test-app-secret-0123456789"
TELEGRAM_TOKEN = "7000000001:TEST-offline-token-000000000000000"

JSON = dict[str, Any]


def with_whatsapp(settings: Settings) -> Settings:
    """``settings`` with WhatsApp configured (and Telegram, for technicians and operators)."""
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(TELEGRAM_TOKEN),
            "whatsapp_token": SecretStr("test-token"),
            "whatsapp_phone_number_id": "100200300",
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr("test-verify-token"),
            "whatsapp_api_url": "https://graph.test/v26.0",
        }
    )


def choices(body: JSON) -> list[tuple[str, str]]:
    """(id, title) of every reply button or list row of a message request."""
    if body.get("type") != "interactive":
        return []
    interactive = body["interactive"]
    action = interactive.get("action", {})
    if interactive["type"] == "button":
        return [(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"]]
    if interactive["type"] == "list":
        return [
            (row["id"], row["title"]) for section in action["sections"] for row in section["rows"]
        ]
    return []


def body_text(body: JSON) -> str:
    """The text a message request shows (its body; a document's caption)."""
    kind = body.get("type")
    if kind == "text":
        return str(body["text"]["body"])
    if kind == "interactive":
        return str(body["interactive"]["body"]["text"])
    if kind == "document":
        return str(body["document"].get("caption", ""))
    return ""


@dataclass
class Serving:
    """The app, the fakes, and one WhatsApp customer's side of the conversation."""

    client: httpx.AsyncClient
    served: Served
    graph: FakeGraphApi
    telegram: FakeBotApi
    hooks: Webhooks
    #: How many of each WhatsApp id's messages were seen by :meth:`new` so far.
    _seen: dict[str, int] = field(default_factory=dict)

    async def post(self, payload: JSON | bytes) -> httpx.Response:
        """Post a signed webhook body and wait until it is handled and its notices are out."""
        raw, header = signed(payload, APP_SECRET)
        answer = await self.client.post(
            "/whatsapp", content=raw, headers={"X-Hub-Signature-256": header}
        )
        assert answer.status_code == 200, answer.text
        await self.served.intake.drain()
        await self.served.runtime.settle()
        return answer

    def new(self, wa_id: str) -> list[JSON]:
        """The messages sent to ``wa_id`` since the last call."""
        sent = self.graph.sent_to(wa_id)
        start = self._seen.get(wa_id, 0)
        self._seen[wa_id] = len(sent)
        return sent[start:]

    async def say(self, wa_id: str, text: str, name: str | None = "Rahim") -> list[JSON]:
        """Type ``text``; return what the bot answered."""
        self.new(wa_id)
        await self.post(self.hooks.text(wa_id, text, name))
        return self.new(wa_id)

    async def choose(self, wa_id: str, data: str, name: str | None = "Rahim") -> list[JSON]:
        """Tap the newest reply button or list row with id ``data``; return the answer."""
        found = self.carrying(wa_id, data)
        kind = found["interactive"]["type"]
        context = found["id"]
        title = dict(choices(found))[data]
        if kind == "button":
            body = self.hooks.button(wa_id, data, title, context)
        else:
            body = self.hooks.list_reply(wa_id, data, title, context)
        return await self.send(wa_id, body, name)

    async def pin(self, wa_id: str, latitude: float, longitude: float) -> list[JSON]:
        """Send a location pin; return the answer."""
        return await self.send(wa_id, self.hooks.location(wa_id, latitude, longitude))

    async def send(self, wa_id: str, body: JSON, name: str | None = "Rahim") -> list[JSON]:
        """Post what ``wa_id`` sent, under their profile name as Meta sends it; the answer."""
        for value in (change["value"] for entry in body["entry"] for change in entry["changes"]):
            for contact in value.get("contacts", ()):
                contact["profile"] = {"name": name or ""}
        self.new(wa_id)
        await self.post(body)
        return self.new(wa_id)

    def carrying(self, wa_id: str, data: str) -> JSON:
        """The newest message to ``wa_id`` with a choice of id ``data`` (and its id)."""
        for call in reversed(self.graph.calls):
            if call.path != "messages" or call.status != 200 or call.body.get("to") != wa_id:
                continue
            if any(one == data for one, _ in choices(call.body)):
                return {**call.body, "id": call.message_id}
        raise AssertionError(f"no message to {wa_id} carries {data!r}")


@asynccontextmanager
async def serving(settings: Settings, graph: FakeGraphApi | None = None) -> AsyncIterator[Serving]:
    """``serve``'s app, lifespan entered, against both fakes (or the Graph API ``graph``)."""
    graph, telegram = graph or FakeGraphApi(), FakeBotApi()
    held: list[Served] = []

    @asynccontextmanager
    async def open_served() -> AsyncIterator[Served]:
        async with opened(
            settings,
            transport=graph.transport(),
            offline=True,
            telegram_request=OfflineRequest(telegram),
        ) as served:
            held.append(served)
            yield served

    app = build_app(open_served)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve.test") as client:
            yield Serving(client, held[0], graph, telegram, Webhooks(graph))
