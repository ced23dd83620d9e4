"""The HTTP routes of ``serve``: Telegram's and Meta's webhooks, and the health check.

``POST /telegram`` takes an update only with Telegram's ``X-Telegram-Bot-Api-Secret-Token``
header equal (compared in constant time) to ``MISTRI_WEBHOOK_SECRET``; a missing or wrong one
is 403, logged without the body. The update is stored in the inbox under its ``update_id``
(Telegram sends one update per POST) in a transaction that commits before the 200, as
WhatsApp's below; a redelivered ``update_id`` is acknowledged and not handled again.

``POST /whatsapp`` trusts nothing it has not checked: the body must carry Meta's
``X-Hub-Signature-256`` (``sha256=`` and the HMAC-SHA256 of the raw body under the app
secret, compared in constant time); a missing one is 401, a wrong one 403, each logged
without the body. A signed body is split into its messages and statuses, each stored in the
inbox under its WhatsApp id in one transaction that commits before the 200; only then is it
queued for handling (``service/intake.py``). Meta retries a webhook that is not answered fast,
so nothing else happens before the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from channels.telegram.inbound import CHANNEL as TELEGRAM
from channels.telegram.inbound import address as telegram_address
from channels.whatsapp.inbound import CHANNEL as WHATSAPP
from channels.whatsapp.inbound import address as whatsapp_address
from conversations.events import Address
from service import metrics
from service.intake import Intake
from storage import inbox
from storage.database import Database

log = logging.getLogger(__name__)

#: The largest webhook body taken; Meta's are a few kilobytes (a batch, tens).
MAX_BODY = 1024 * 1024
#: How long the health check waits for the database, in seconds.
HEALTH_TIMEOUT = 2.0
SIGNATURE_HEADER = "x-hub-signature-256"
#: The header Telegram sends with the webhook's secret token (``setWebhook``'s secret_token).
TELEGRAM_SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
#: What a change's value holds besides the envelope: taken apart, one update per body.
_UPDATES = ("contacts", "messages", "statuses")


class BodyTooLarge(Exception):
    """The request's body is over :data:`MAX_BODY`."""


@dataclass(frozen=True, slots=True)
class Item:
    """One update of a webhook body, as it is stored: its channel id, sender and JSON."""

    external_id: str
    person: Address | None
    body: dict[str, Any]


def signature(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_by(body: bytes, header: str, app_secret: str) -> bool:
    """Tell, in constant time, whether ``header`` is Meta's signature of ``body``."""
    return hmac.compare_digest(signature(body, app_secret).encode(), header.strip().encode())


def whatsapp_items(payload: dict[str, Any]) -> Iterator[Item]:
    """Split a webhook body into its messages and statuses, each as a body of its own.

    Each keeps the envelope (``object``, the entry's id, the change's field, ``metadata``)
    and, for a message, its sender's ``contacts`` entry: the channel's reader
    (``channels/whatsapp/inbound.py``) reads it as it would the whole body, and a better
    reader later can read the stored ones again. A status's id is its message's id and the
    status (one message is sent, then delivered, then read).
    """
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            common = {key: one for key, one in value.items() if key not in _UPDATES}
            contacts = _dicts(value.get("contacts"))
            for message in _dicts(value.get("messages")):
                sender, message_id = message.get("from"), message.get("id")
                if not isinstance(sender, str) or not isinstance(message_id, str):
                    continue
                theirs = [one for one in contacts if one.get("wa_id") == sender]
                alone = {**common, "contacts": theirs, "messages": [message]}
                yield Item(
                    message_id, whatsapp_address(sender), _envelope(payload, entry, change, alone)
                )
            for status in _dicts(value.get("statuses")):
                message_id, state = status.get("id"), status.get("status")
                if not isinstance(message_id, str) or not isinstance(state, str):
                    continue
                recipient = status.get("recipient_id")
                person = whatsapp_address(recipient) if isinstance(recipient, str) else None
                alone = {**common, "statuses": [status]}
                yield Item(
                    f"status:{state}:{message_id}",
                    person,
                    _envelope(payload, entry, change, alone),
                )


def _envelope(
    payload: dict[str, Any], entry: dict[str, Any], change: dict[str, Any], value: dict[str, Any]
) -> dict[str, Any]:
    """A webhook body that holds ``value`` alone, as Meta would have sent it."""
    return {
        "object": payload.get("object"),
        "entry": [
            {"id": entry.get("id"), "changes": [{"field": change.get("field"), "value": value}]}
        ],
    }


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dicts of a JSON list (anything else in a body is ignored)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


async def read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request's body, refused past ``limit`` bytes without reading the rest.

    Raises:
        BodyTooLarge: it is longer (as announced, or as it arrives).
    """
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class WhatsAppWebhook:
    """``GET /whatsapp`` (Meta's verification) and ``POST /whatsapp`` (updates)."""

    def __init__(
        self, *, app_secret: str, verify_token: str, served: Callable[[], tuple[Database, Intake]]
    ) -> None:
        self._secret = app_secret
        self._verify = verify_token.encode()
        self._served = served

    async def verify(self, request: Request) -> Response:
        """Answer Meta's subscription check: echo the challenge to the right verify token."""
        query = request.query_params
        given = query.get("hub.verify_token", "").encode()
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(given, self._verify):
            log.info("Meta verified the WhatsApp webhook")
            return PlainTextResponse(query.get("hub.challenge", ""))
        log.warning("a WhatsApp webhook verification with a wrong token was refused")
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        """Check the signature, store every update, then answer 200 (handling comes after)."""
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            log.warning("a POST /whatsapp without a signature was refused")
            metrics.refused(WHATSAPP)
            return PlainTextResponse("missing signature", status_code=401)
        body = await _capped_body(request, "/whatsapp")
        if isinstance(body, Response):
            return body
        if not signed_by(body, header, self._secret):
            log.warning("a POST /whatsapp with a wrong signature was refused")
            metrics.refused(WHATSAPP)
            return PlainTextResponse("wrong signature", status_code=403)
        payload = _json(body, "a signed POST /whatsapp")
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, dict):
            return PlainTextResponse("not a webhook body", status_code=400)
        await _store_then_submit(self._served, WHATSAPP, list(whatsapp_items(payload)))
        return PlainTextResponse("")


def telegram_sender(update: dict[str, Any]) -> Address | None:
    """Who sent a Telegram update (its message's or button press's user), if anyone."""
    for kind in ("message", "callback_query"):
        part = update.get(kind)
        if isinstance(part, dict):
            sender = part.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return telegram_address(sender["id"])
    return None


class TelegramWebhook:
    """``POST /telegram``: an update with the right secret header, stored, then a 200."""

    def __init__(self, *, secret: str, served: Callable[[], tuple[Database, Intake]]) -> None:
        self._secret = secret.encode()
        self._served = served

    async def receive(self, request: Request) -> Response:
        """Check the secret header, store the update, then answer 200 (handling comes after)."""
        given = request.headers.get(TELEGRAM_SECRET_HEADER, "").encode()
        if not given or not hmac.compare_digest(given, self._secret):
            log.warning("a POST /telegram without the right secret token was refused")
            metrics.refused(TELEGRAM)
            return PlainTextResponse("forbidden", status_code=403)
        body = await _capped_body(request, "/telegram")
        if isinstance(body, Response):
            return body
        update = _json(body, "a POST /telegram")
        if isinstance(update, Response):
            return update
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("a POST /telegram without an update_id was refused")
            return PlainTextResponse("not an update", status_code=400)
        item = Item(str(update_id), telegram_sender(update), update)
        await _store_then_submit(self._served, TELEGRAM, [item])
        return PlainTextResponse("")


async def _capped_body(request: Request, route: str) -> bytes | Response:
    """The request's body, or the answer that refuses it (too large, or the client left)."""
    try:
        return await read_capped(request)
    except BodyTooLarge:
        log.warning("a POST %s over %d bytes was refused", route, MAX_BODY)
        return PlainTextResponse("too large", status_code=413)
    except ClientDisconnect:
        return PlainTextResponse("", status_code=400)


def _json(body: bytes, what: str) -> Any:
    """``body`` parsed, or a 400 answer (logged as ``what``) when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        log.warning("%s that is not JSON was refused", what)
        return PlainTextResponse("not JSON", status_code=400)


async def _store_then_submit(
    served: Callable[[], tuple[Database, Intake]], channel: str, items: list[Item]
) -> None:
    """Store the updates in one transaction, then hand the new ones to the intake."""
    db, intake = served()
    stored = []
    async with db.transaction() as tx:
        for item in items:
            row = await inbox.store(
                tx,
                channel=channel,
                external_id=item.external_id,
                person=item.person,
                body=item.body,
            )
            if row is not None:  # None: a redelivery, stored (and maybe handled) before
                stored.append(row)
    # Committed: a crash from here on loses nothing, and the 200 may go.
    metrics.received(channel, stored=len(stored), duplicate=len(items) - len(stored))
    for row in stored:
        intake.submit(row)


async def healthz(db: Database) -> Response:
    """200 with a small JSON when the database answers, 503 otherwise.

    The JSON: ``database``, ``inbox_pending`` (updates not handled yet) and
    ``outbox_oldest_due_s`` (how long the oldest due notice has waited; null: none). Counts
    and ages only, never a person.
    """
    try:
        found = await metrics.backlog(db, within=HEALTH_TIMEOUT)
    except Exception as error:  # whatever it is, the answer is "not healthy"
        log.warning("health check: the database did not answer (%s)", type(error).__name__)
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, 503)
    return JSONResponse(
        {
            "status": "ok",
            "database": "ok",
            "inbox_pending": found.inbox_pending,
            "outbox_oldest_due_s": found.outbox_oldest_due_s,
        }
    )
