"""Webhook bodies as Meta posts them to the bot, and their ``X-Hub-Signature-256``.

Shapes follow Meta's webhook reference for the ``messages`` field (text, interactive
``button_reply``/``list_reply``, template ``button``, location, contacts, media, statuses).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from channels.whatsapp.fake_api.server import FakeGraphApi

WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"


def signed(body: dict[str, Any] | bytes, app_secret: str) -> tuple[bytes, str]:
    """The raw body and its ``X-Hub-Signature-256`` header value (``sha256=<hex>``)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    digest = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, f"sha256={digest}"


class Webhooks:
    """Builds what people send; each inbound message opens its sender's window in ``api``."""

    def __init__(
        self, api: FakeGraphApi | None = None, phone_number_id: str = "100200300"
    ) -> None:
        self.api = api
        self.phone_number_id = api.phone_number_id if api is not None else phone_number_id
        self._ids = itertools.count(1)

    def text(self, wa_id: str, body: str, name: str | None = "Rahim") -> dict[str, Any]:
        """A text message."""
        return self._message(wa_id, name, "text", {"body": body})

    def button(
        self, wa_id: str, data: str, title: str = "", context: str | None = None
    ) -> dict[str, Any]:
        """A tap on a reply button of message ``context``."""
        reply = {"type": "button_reply", "button_reply": {"id": data, "title": title or data[:20]}}
        return self._message(wa_id, None, "interactive", reply, context)

    def list_reply(
        self, wa_id: str, data: str, title: str = "", context: str | None = None
    ) -> dict[str, Any]:
        """A row chosen in a list message."""
        reply = {"type": "list_reply", "list_reply": {"id": data, "title": title or data[:24]}}
        return self._message(wa_id, None, "interactive", reply, context)

    def template_button(self, wa_id: str, payload: str, text: str = "Accept") -> dict[str, Any]:
        """A tap on a quick-reply button of a template."""
        return self._message(wa_id, None, "button", {"payload": payload, "text": text})

    def location(self, wa_id: str, latitude: float, longitude: float) -> dict[str, Any]:
        """A location pin."""
        pin = {"latitude": latitude, "longitude": longitude}
        return self._message(wa_id, None, "location", pin)

    def contact(self, wa_id: str, phone: str, owner: str | None = None) -> dict[str, Any]:
        """A shared contact card (``owner``: the card's WhatsApp id, if it has one)."""
        card: dict[str, Any] = {
            "name": {"formatted_name": "Karim", "first_name": "Karim"},
            "phones": [{"phone": phone, "type": "CELL", **({"wa_id": owner} if owner else {})}],
        }
        body = self._message(wa_id, None, "contacts", {})
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["contacts"]
        message["contacts"] = [card]
        return body

    def media(self, wa_id: str, kind: str, **extra: Any) -> dict[str, Any]:
        """A media message (image, sticker, audio, video, document) or a reaction."""
        return self._message(wa_id, None, kind, {"id": f"media-in-{next(self._ids)}", **extra})

    def status(
        self, message_id: str, status: str, recipient: str, errors: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        """What became of a message the bot sent."""
        entry: dict[str, Any] = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": recipient,
        }
        if errors:
            entry["errors"] = [{"code": code, "title": "error"} for code in errors]
        return self._envelope({"statuses": [entry]})

    def _message(
        self,
        wa_id: str,
        name: str | None,
        kind: str,
        content: dict[str, Any],
        context: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "from": wa_id,
            "id": f"wamid.in{next(self._ids)}",
            "timestamp": str(int(time.time())),
            "type": kind,
            kind: content,
        }
        if context is not None:
            message["context"] = {"from": DISPLAY_NUMBER, "id": context}
        if self.api is not None:
            self.api.opened(wa_id)
        contact = {"profile": {"name": name or ""}, "wa_id": wa_id}
        return self._envelope({"contacts": [contact], "messages": [message]})

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        metadata = {
            "display_phone_number": DISPLAY_NUMBER,
            "phone_number_id": self.phone_number_id,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA_ID,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": metadata,
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }
