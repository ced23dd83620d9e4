"""``FakeGraphApi``: the messages and media endpoints, recorded, with windows and faults."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx

from channels.whatsapp.fake_api.checks import Invalid, message

#: The 24-hour customer-service window, in seconds.
WINDOW = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class GraphCall:
    """One recorded request: path after the phone number id, JSON body, HTTP status answered."""

    path: str
    body: dict[str, Any]
    status: int
    code: int | None = None
    message_id: str | None = None


@dataclass(slots=True)
class _Fault:
    code: int
    status: int
    remaining: int
    to: str | None
    retry_after: int | None


class FakeGraphApi:
    """The Cloud API as the channel sees it: ``POST /{phone number id}/messages`` and ``/media``.

    Every message is checked against the Cloud API's limits (checks.py) and refused with
    Meta's error body when it breaks one; free-form messages to someone who has not written in
    the last 24 hours are refused with 131047 (templates pass). :meth:`opened` (or any
    inbound webhook built by webhooks.py through :meth:`saw`) opens a person's window.
    """

    def __init__(
        self,
        *,
        phone_number_id: str = "100200300",
        token: str = "test-token",  # noqa: S107 - the fake's own, not a secret
        templates: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
        windows: bool = True,
    ) -> None:
        """``templates``: template names that exist (None: any); ``windows``: enforce them."""
        self.phone_number_id = phone_number_id
        self.token = token
        self.templates = templates
        self.windows = windows
        self.calls: list[GraphCall] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._media: dict[str, tuple[str, bytes]] = {}
        self._last_inbound: dict[str, float] = {}
        self._faults: list[_Fault] = []

    # ------------------------------------------------------------------------- test controls

    def opened(self, wa_id: str, at: float | None = None) -> None:
        """Note that ``wa_id`` wrote to the business (at ``at``, now by default)."""
        with self._lock:
            self._last_inbound[wa_id] = self._clock() if at is None else at

    def fail_next(
        self,
        code: int,
        *,
        status: int = 400,
        count: int = 1,
        to: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` message requests (to ``to``, or anyone) with ``code``."""
        with self._lock:
            self._faults.append(_Fault(code, status, count, to, retry_after))

    def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        """The message bodies accepted for ``wa_id``, in order."""
        return [
            call.body
            for call in self.calls
            if call.path == "messages" and call.status == 200 and call.body.get("to") == wa_id
        ]

    def media(self, media_id: str) -> tuple[str, bytes]:
        """The (file name, bytes) of an uploaded media."""
        return self._media[media_id]

    # ----------------------------------------------------------------------------- transport

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that answers from this fake (no network)."""
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request as the Graph API would."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "Invalid OAuth access token")
        parts = request.url.path.rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] != self.phone_number_id:
            return _error(400, 100, "Unsupported post request: unknown phone number id")
        if parts[-1] == "media":
            return self._upload(request)
        if parts[-1] != "messages":
            return _error(404, 100, "Unknown path")
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return _error(400, 100, "Request body is not JSON")
        return self._message(body if isinstance(body, dict) else {})

    def _message(self, body: dict[str, Any]) -> httpx.Response:
        with self._lock:
            if body.get("status") == "read":  # mark as read
                self.calls.append(GraphCall("messages", body, 200))
                return httpx.Response(200, json={"success": True})
            fault = self._fault(body.get("to"))
            if fault is not None:
                self.calls.append(GraphCall("messages", body, fault.status, fault.code))
                headers = {"retry-after": str(fault.retry_after)} if fault.retry_after else {}
                return _error(fault.status, fault.code, "injected fault", headers)
            try:
                kind = message(body, self._media, self.templates)
                if kind != "template" and not self._in_window(str(body["to"])):
                    raise Invalid(131047, "Re-engagement message: more than 24 hours")
            except Invalid as invalid:
                self.calls.append(GraphCall("messages", body, 400, invalid.code))
                return _error(400, invalid.code, invalid.description)
            message_id = f"wamid.fake{next(self._ids)}"
            self.calls.append(GraphCall("messages", body, 200, None, message_id))
        to = body["to"]
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id}],
            },
        )

    def _upload(self, request: httpx.Request) -> httpx.Response:
        content_type = request.headers.get("content-type", "")
        if (
            not content_type.startswith("multipart/form-data")
            or b"whatsapp" not in request.content
        ):
            return _error(400, 100, "media must be multipart with messaging_product")
        with self._lock:
            media_id = f"media{next(self._ids)}"
            self._media[media_id] = ("upload", request.content)
            self.calls.append(GraphCall("media", {"bytes": len(request.content)}, 200))
        return httpx.Response(200, json={"id": media_id})

    def _fault(self, to: Any) -> _Fault | None:
        for fault in self._faults:
            if fault.to is None or fault.to == to:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _in_window(self, wa_id: str) -> bool:
        if not self.windows:
            return True
        last = self._last_inbound.get(wa_id)
        return last is not None and self._clock() - last < WINDOW


def _error(
    status: int, code: int, description: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Meta's error body (Graph API error handling)."""
    body = {
        "error": {
            "message": f"(#{code}) {description}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": description},
            "fbtrace_id": "FakeTrace",
        }
    }
    return httpx.Response(status, json=body, headers=headers)
