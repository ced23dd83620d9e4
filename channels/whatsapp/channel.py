"""WhatsApp as the core's :class:`~app.ports.Channel`, over the Cloud API's messages endpoint.

Requests go to ``{MISTRI_WHATSAPP_API_URL}/{phone number id}/messages`` with the bearer
token, through an injected ``httpx.AsyncClient`` (tests plug the fake in through its
transport). pywa was considered: its client fixes the Graph API base to
``https://graph.facebook.com/v<version>`` on the session it is given (``GraphAPI.__init__``)
and claims the session's headers, so the base could only be changed behind its back; the few
calls needed here are plain JSON, so httpx is used directly and no dependency is added.

Failures are mapped as Meta's error-code reference describes them
(https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/):
throughput and pair rate limits (130429, 131056, 80007, 4, HTTP 429) are a
:class:`~app.ports.Retry` (after ``Retry-After`` when given, else with backoff); 131047 (more
than 24 hours since the person last wrote) is :class:`~app.ports.Unreachable` unless the
message has a purpose with a template, which then goes instead; 131026 (undeliverable),
131051, 131030 (not an allowed test number) are :class:`~app.ports.Unreachable`; an
expired or wrong token (190) a :class:`~app.ports.Retry` with one error line; server errors
and 131000/131016 (Meta's side) a :class:`~app.ports.Retry`; any other 4xx is
:class:`~app.ports.Refused`, naming the code only.

A message may take several requests (render.py): each is a step. The first's id is the
message's, a pin's is ``pin_id``, the ones between go in ``copies`` (they belong to it, and
erasure finds them there): a retry sends only the parts not yet sent. There is no idempotency
key on the Cloud API: a request whose answer was lost may show twice after a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.ports import DeliveryError, Progress, Refused, Removal, Retry, Sent, Unreachable
from channels.whatsapp.inbound import CHANNEL
from channels.whatsapp.render import CAPABILITIES, document_part, language, render, request
from channels.whatsapp.templates import template_message
from conversations.events import Address, Inbound
from conversations.outbound import Document, Outbound

log = logging.getLogger(__name__)

#: Meta's Graph API, the version this channel was written against.
DEFAULT_API_URL = "https://graph.facebook.com/v21.0"

RATE_LIMITED = frozenset({4, 80007, 130429, 131056})
OUTSIDE_WINDOW = 131047
UNREACHABLE = frozenset({131026, 131030, 131051})
TOKEN_REFUSED = 190
META_SIDE = frozenset({1, 2, 131000, 131016})
#: The customer-service window, and how much of it is left unused so that a message sent
#: at its very end does not arrive after it.
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=10)

#: When a person (their WhatsApp id) last wrote to the business; None: never, or not known.
LastHeard = Callable[[str], Awaitable[datetime | None]]


class OutsideWindow(Unreachable):
    """The person last wrote more than 24 hours ago: only a template may reach them."""


class WhatsAppChannel:
    """Reaches WhatsApp users through one business phone number."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        token: str,
        phone_number_id: str,
        api_url: str | None = None,
        templates: Mapping[str, str] | None = None,
        mark_read: bool = False,
        last_heard: LastHeard | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``templates``: {purpose: name} (templates.parse); ``mark_read``: acknowledge reads.

        ``last_heard``: when a person last wrote (None: the window is not judged here, only
        by the Cloud API's refusals).
        """
        self.last_heard = last_heard
        self._clock = clock or (lambda: datetime.now(UTC))
        self._client = client
        self._base = (api_url or DEFAULT_API_URL).rstrip("/")
        self._phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self._templates = dict(templates or {})
        self._mark_read = mark_read

    async def send(
        self, chat: Address, message: Outbound, *, progress: Progress | None = None
    ) -> Sent:
        """Send ``message`` (anew, even when it replaces one: WhatsApp has no edits)."""
        done = (progress or Progress()).sent
        if done.message_id is None and not await self._window_open(chat, message):
            template = self._template(message)
            if template is None:
                raise OutsideWindow("outside WhatsApp's 24-hour window, and no template for it")
            # Outside the window: the approved template stands for the whole message.
            return Sent(await self._message(chat, template))
        parts = render(message)
        pin = parts.pop() if message.location is not None else None
        first, copies, pin_id = done.message_id, list(done.copies), done.pin_id
        extra_done = len(copies)
        try:
            for index, part in enumerate(parts):
                if (index == 0 and first is not None) or 0 < index <= extra_done:
                    continue  # went out on an earlier attempt
                try:
                    sent_id = await self._message(chat, part)
                except OutsideWindow:
                    template = self._template(message) if first is None else None
                    if template is None:
                        raise
                    # Outside the window: the approved template stands for the whole message.
                    return Sent(await self._message(chat, template))
                if index == 0:
                    first = sent_id
                else:
                    copies.append(sent_id)
            if pin is not None and pin_id is None:
                pin_id = await self._message(chat, pin)
        except DeliveryError as error:
            error.progress = Progress(Sent(first, pin_id, tuple(copies)))
            raise
        return Sent(first, pin_id, tuple(copies))

    async def _window_open(self, chat: Address, message: Outbound) -> bool:
        """Tell whether a notice may go as it is: the person wrote within the window."""
        if message.purpose is None or self.last_heard is None:
            return True  # an answer to what they just wrote, or no way to know
        heard = await self.last_heard(chat.id)
        if heard is None:
            return False
        if heard.tzinfo is None:  # SQLite gives back naive UTC times
            heard = heard.replace(tzinfo=UTC)
        return self._clock() - heard < WINDOW - WINDOW_MARGIN

    def _template(self, message: Outbound) -> dict[str, Any] | None:
        if message.purpose is None:
            return None
        payloads = [b.data for row in message.buttons for b in row][:2]
        if message.purpose != "job_offer":
            payloads = []
        return template_message(
            self._templates, message.purpose, language(message.text), [message.text], payloads
        )

    async def send_document(self, chat: Address, document: Document) -> Sent:
        """Upload ``document`` (``/media``), then send it as a document message."""
        files = {
            "file": (document.filename, document.content, _mime(document.filename)),
            "messaging_product": (None, "whatsapp"),
            "type": (None, _mime(document.filename)),
        }
        answer = await self._post("media", files=files)
        media_id = answer.get("id")
        if not isinstance(media_id, str):
            raise Retry("the media upload answered without an id")
        return Sent(await self._message(chat, document_part(media_id, document)))

    async def delete(self, chat: Address, message_id: str) -> Removal:
        """The Cloud API cannot delete a message a business sent: it stays (render.py)."""
        return Removal.REFUSED

    async def replace_text(self, chat: Address, message_id: str, text: str) -> bool:
        """The Cloud API cannot edit a sent message either."""
        return False

    async def acknowledge(self, event: Inbound, toast: str | None) -> None:
        """Mark the person's message as read, when asked to; WhatsApp shows no toasts."""
        if not self._mark_read or event.receipt is None:
            return
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": event.receipt}
        await self._post("messages", json=body)

    async def administrators(self, chat: Address) -> frozenset[str]:
        """WhatsApp chats with the bot are one person's: no administrators."""
        return frozenset()

    async def _message(self, chat: Address, part: dict[str, Any]) -> str:
        answer = await self._post("messages", json=request(chat.id, part))
        messages = answer.get("messages")
        if not isinstance(messages, list) or not messages or "id" not in messages[0]:
            raise Retry("the Cloud API answered without a message id")
        return str(messages[0]["id"])

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self._base}/{self._phone_number_id}/{path}"
        try:
            response = await self._client.post(url, headers=self._headers, **kwargs)
        except httpx.TransportError as error:
            raise Retry(type(error).__name__) from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code >= 400 or "error" in body:
            raise translate(response.status_code, body, response.headers.get("retry-after"))
        return body


def translate(status: int, body: dict[str, Any], retry_after: str | None = None) -> DeliveryError:
    """Return the kind of failure the core acts on for a Cloud API error answer."""
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    code = code if isinstance(code, int) else None
    failed: DeliveryError
    if code in RATE_LIMITED or status == 429:
        failed = Retry(f"rate limited (code {code})", after=_seconds(retry_after))
    elif code == OUTSIDE_WINDOW:
        failed = OutsideWindow("outside WhatsApp's 24-hour window")
    elif code in UNREACHABLE:
        failed = Unreachable(f"the person cannot be reached (code {code})")
    elif code == TOKEN_REFUSED or status == 401:
        log.error("the WhatsApp access token was refused: set a valid MISTRI_WHATSAPP_TOKEN")
        failed = Retry("the WhatsApp access token was refused")
    elif code in META_SIDE or status >= 500:
        failed = Retry(f"the Cloud API failed (code {code}, HTTP {status})")
    else:
        failed = Refused(f"the Cloud API refused the message (code {code}, HTTP {status})")
    return failed


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _mime(filename: str) -> str:
    if filename.endswith(".json"):
        return "application/json"
    if filename.endswith(".pdf"):
        return "application/pdf"
    return "text/plain"
