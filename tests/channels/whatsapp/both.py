"""``serve`` with both channels in one process: WhatsApp through its webhook, Telegram beside it.

The ASGI app runs through httpx's ASGI transport (no socket) with its lifespan entered; the
Graph API is the recording fake (``channels/whatsapp/fake_api``) as an httpx transport, the
Bot API the recording offline fake (``channels/telegram/fake_api``). WhatsApp people post
signed webhooks; Telegram people's updates go through the same runtime
(:class:`tests.conftest.Bot`), so the Telegram end-to-end helpers (``Harness``, ``Person``)
work as they do there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from channels.telegram.fake_api import FakeBotApi
from channels.whatsapp.fake_api import FakeGraphApi, Webhooks, signed
from channels.whatsapp.inbound import address
from conversations.session import Session
from service.config import Settings
from service.serve import Served
from storage import technicians
from tests.channels.telegram.test_booking_e2e import Harness
from tests.channels.whatsapp.harness import serving
from tests.conftest import TOKEN, Bot, fresh_database

APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "100200300"


def both_settings(settings: Settings, templates: str | None = None) -> Settings:
    """``settings`` with a Telegram token and a complete WhatsApp configuration."""
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(TOKEN),
            "whatsapp_token": SecretStr("test-token"),
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_api_url": "https://graph.test/v21.0",
            "whatsapp_templates": templates,
        }
    )


@dataclass
class Both:
    """A running ``serve`` with WhatsApp and Telegram, and the fakes of both."""

    client: httpx.AsyncClient
    served: Served
    graph: FakeGraphApi
    hooks: Webhooks
    telegram: Harness

    @property
    def bot_api(self) -> FakeBotApi:
        """The fake Bot API."""
        return self.telegram.api

    async def post(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Post a signed webhook, handle it and deliver what it caused; the bodies sent."""
        mark = len(self.graph.calls)
        raw, header = signed(payload, APP_SECRET)
        answer = await self.client.post(
            "/whatsapp", content=raw, headers={"X-Hub-Signature-256": header}
        )
        assert answer.status_code == 200, answer.text
        await self.settle()
        return [call.body for call in self.graph.calls[mark:] if call.status == 200]

    async def settle(self) -> None:
        """Handle what is stored and deliver every notice due."""
        await self.served.intake.drain()
        await self.served.runtime.settle()

    async def heard_from(self, wa_id: str) -> None:
        """As if ``wa_id`` wrote to the business just now: the 24-hour window is open.

        The fake Graph API opens its window, and the session the bot judges it by is saved.
        """
        self.graph.opened(wa_id)
        await self.served.runtime.core.sessions.save(Session(address(wa_id), "en"))

    async def add_whatsapp_technician(
        self,
        wa_id: str,
        *,
        name: str = "Selim Mia",
        phone: str | None = None,
        services: tuple[str, ...] = ("plumbing",),
        lang: str = "en",
    ) -> int:
        """A technician reached on WhatsApp at ``wa_id``, as ``technician add --whatsapp``."""
        async with self.served.db.transaction() as tx:
            added = await technicians.add(
                tx,
                person=address(wa_id),
                name=name,
                phone=phone or "+" + wa_id,
                services=list(services),
                areas=["all"],
                lang=lang,
            )
        return added.id or 0


@asynccontextmanager
async def serving_both(
    settings: Settings,
    tmp_path: Path,
    migrated: Path,
    *,
    templates: str | None = None,
    lenient: bool = False,
) -> AsyncIterator[Both]:
    """Open ``serve``'s app with both channels on a fresh database.

    ``lenient``: the fake Graph API accepts free-form messages outside the 24-hour window (as
    Meta's does, reporting 131047 only in a later status) instead of refusing them.
    """
    fresh_database(migrated, tmp_path / "test.db")
    graph = FakeGraphApi(phone_number_id=PHONE_NUMBER_ID, windows=not lenient)
    async with serving(both_settings(settings, templates), graph) as running:
        harness = Harness(Bot(running.telegram, running.served.runtime))
        yield Both(running.client, running.served, graph, running.hooks, harness)


def buttons(body: dict[str, Any]) -> list[str]:
    """The ids of the reply buttons (or list rows) of a message body."""
    interactive = body.get("interactive") or {}
    action = interactive.get("action") or {}
    found = [button["reply"]["id"] for button in action.get("buttons", ())]
    for section in action.get("sections", ()):
        found.extend(row["id"] for row in section["rows"])
    return found


def text(body: dict[str, Any]) -> str:
    """The text a message body shows (a text's body, an interactive body, a template's)."""
    if body.get("type") == "text":
        return str(body["text"]["body"])
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    if body.get("type") == "template":
        return " ".join(
            str(parameter.get("text", ""))
            for component in body["template"]["components"]
            for parameter in component.get("parameters", ())
        )
    return ""
