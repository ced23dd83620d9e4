"""The fake's fault injection: failing the next calls, losing their answers, upgrading groups.

A test tells :class:`FaultInjection` (a part of ``FakeBotApi``) what to break; the server's
dispatch asks it, under the state lock, whether a call is answered with a fault, and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.telegram.fake_api.markup import GROUP_UPGRADED, ApiError
from channels.telegram.fake_api.messages import ChatState


@dataclass(slots=True)
class _Fault:
    """A pending injected failure."""

    chat_id: int | None
    status: int
    description: str
    retry_after: int | None
    remaining: int
    #: Only calls of this method fail (any method when None).
    method: str | None = None
    #: The call is carried out first (the message is in the chat), then the error answered.
    delivered: bool = False

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        """Whether this fault applies to a call of ``method`` with ``params``."""
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == params.get("chat_id")


class FaultInjection(ChatState):
    """Failures a test asks for (set up by ``FakeBotApi.__init__``), and upgraded groups."""

    _faults: list[_Fault]
    #: Groups upgraded to supergroups: old chat id -> new chat id.
    _migrated: dict[int, int]

    def fail_next(
        self,
        chat_id: int | None,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        *,
        method: str | None = None,
        delivered: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``chat_id`` (any chat if None) fail with ``status``.

        ``method``: only calls of that method fail. ``delivered``: each call is carried out
        first (its message is in the chat), then answered with the error, as a ``5xx`` from
        a Telegram that did its work may be.
        """
        if status < 400:
            raise ValueError("fail_next needs an HTTP error status (>= 400)")
        if status == 429 and retry_after is None:
            raise ValueError("a 429 needs retry_after")
        if "{retry_after}" in description:
            description = description.format(retry_after=retry_after)
        fault = _Fault(chat_id, status, description, retry_after, times, method, delivered)
        with self._lock:
            self._faults.append(fault)

    def time_out_next(
        self, chat_id: int | None, *, method: str | None = None, times: int = 1
    ) -> None:
        """Carry out the next ``times`` calls to ``chat_id`` but lose their answers.

        The message is in the chat; the bot sees a timeout (``telegram.error.TimedOut``
        through :class:`~channels.telegram.fake_api.OfflineRequest`).
        """
        with self._lock:
            self._faults.append(_Fault(chat_id, 0, "", None, times, method, delivered=True))

    def migrate_group(self, chat_id: int, new_chat_id: int) -> None:
        """Upgrade group ``chat_id`` to the supergroup ``new_chat_id``, as Telegram does.

        From now on every call naming the old id is answered 400 with ``migrate_to_chat_id``.
        """
        with self._lock:
            self._migrated[chat_id] = new_chat_id
            self._supergroups.add(new_chat_id)

    def _moved(self, params: dict[str, Any]) -> None:
        """Answer a call naming an upgraded group as Telegram does (400, migrate_to_chat_id)."""
        new_chat_id = self._migrated.get(params.get("chat_id", 0))
        if new_chat_id is not None:
            raise ApiError(400, GROUP_UPGRADED, migrate_to_chat_id=new_chat_id)

    def _fault_for(self, method: str, params: dict[str, Any]) -> _Fault | None:
        """Take the first pending injected fault that matches this call (method and chat)."""
        if not self._faults or "chat_id" not in params:
            return None
        for fault in self._faults:
            if fault.matches(method, params):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None


def fault_error(fault: _Fault) -> ApiError:
    """The error an injected fault answers."""
    return ApiError(fault.status, fault.description, fault.retry_after)
