"""The fake Bot API with faults of the whole server: methods refused, calls that never answer.

``FakeBotApi.fail_next`` fails calls to a chat; a poller's faults are in calls to no chat
(``getMe``, ``getUpdates``: a refused token, a second poller's ``409 Conflict``, a 429 on
polling), and a stop must be tested against a server that stops answering altogether.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from channels.telegram.fake_api import ApiCall, FakeBotApi, decode_params
from channels.telegram.fake_api.markup import error_body

#: What Telegram answers a second poller on the same token.
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance"
    " is running"
)
WEBHOOK_CONFLICT = "Conflict: can't use getUpdates method while webhook is active"


class FaultyBotApi(FakeBotApi):
    """A ``FakeBotApi`` whose methods can be refused as a whole, or left without an answer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Methods answered with an error: method -> (HTTP status, description, retry_after).
        self.refusals: dict[str, tuple[int, str, int | None]] = {}
        #: Every call but getUpdates waits forever (a Bot API that stopped answering sends).
        self.stall_sends = False
        #: Every call waits forever, getUpdates too.
        self.stall_everything = False
        self._stalled = 0
        self._count_lock = threading.Lock()

    def refuse(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> None:
        """Answer every call of ``method`` with ``status`` from now on."""
        self.refusals[method] = (status, description, retry_after)

    @property
    def stalled(self) -> int:
        """How many calls are waiting for an answer that will not come."""
        with self._count_lock:
            return self._stalled

    async def handle(self, method: str, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one call, unless it is refused or left hanging."""
        if self.stall_everything or (self.stall_sends and method != "getUpdates"):
            with self._count_lock:
                self._stalled += 1
            try:
                await asyncio.Event().wait()  # until the server goes away
            finally:
                with self._count_lock:
                    self._stalled -= 1
        refusal = self.refusals.get(method)
        if refusal is not None:
            status, description, retry_after = refusal
            with self._lock:
                self.calls.append(ApiCall(method, decode_params(params), status))
            return status, error_body(status, description, retry_after)
        return await super().handle(method, params)
