"""``FakeBotApi``: the fake's state, call dispatch and recording, inspection, getUpdates.

What a test can make fail (and groups it upgrades) is :mod:`channels.telegram.fake_api.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from channels.telegram.fake_api.faults import FaultInjection, fault_error
from channels.telegram.fake_api.markup import ApiError, error_body
from channels.telegram.fake_api.messages import MessageHandlers
from channels.telegram.fake_api.request import AnswerLost, decode_params
from channels.telegram.fake_api.updates import UpdateBuilders

BOT_ID = 7000000001
BOT_USERNAME = "mistri_demo_bot"
BOT_FIRST_NAME = "Mistri"

# Methods whose successful calls count as "sent to a chat" for sent_to() / last_message().
_OUTGOING_PREFIXES = ("send", "edit", "copy", "forward")


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One recorded Bot API call: method name, JSON-decoded params and the HTTP status answered.

    ``status`` 0: the call was carried out but its answer never reached the bot (a timeout).
    """

    method: str
    params: dict[str, Any]
    status: int = 200
    #: The id of the message the call sent or edited, when it did (even if it then failed).
    message_id: int | None = None


@dataclass(slots=True)
class _Waiter:
    """A getUpdates long poll waiting in some event loop."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)


class FakeBotApi(MessageHandlers, UpdateBuilders, FaultInjection):
    """In-memory Bot API: answers methods like Telegram, records calls, injects faults."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        record_calls: bool = True,
        clock: Callable[[], float] = time.time,
        bot_id: int = BOT_ID,
        username: str = BOT_USERNAME,
        first_name: str = BOT_FIRST_NAME,
        shared_ids: bool = True,
    ) -> None:
        """Create an empty fake; sleep ``delay`` seconds per call; ``clock`` dates messages.

        ``shared_ids``: private chats and basic groups take their message ids from one
        counter, the bot's own, as on Telegram (supergroups count their own); False: every
        chat counts its own (ids dense per chat, cheaper to prune for the benchmarks).
        """
        self.delay = delay
        self.record_calls = record_calls
        self.calls: list[ApiCall] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self._me: dict[str, Any] = {
            **self._bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._message_ids = {}
        self._counters = {}
        self._shared_ids = shared_ids
        self._messages = {}
        self._users = {}
        self._members = {}
        self._supergroups = set()
        #: A group's administrators, as a test names them (chat id -> user ids); a group not
        #: named here answers with everyone the fake has seen write or press in it.
        self.administrators: dict[int, list[int]] = {}
        self._updates: list[dict[str, Any]] = []
        #: The webhook set with setWebhook ("" when none), as getWebhookInfo reports it.
        self.webhook_url = ""
        self._waiters: list[_Waiter] = []
        self._faults = []
        self._migrated = {}
        self._commands = {}
        self._texts = {}
        self._documents = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendLocation": self._send_location,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "setMyDescription": self._setter("description"),
            "getMyDescription": self._getter("description"),
            "setMyShortDescription": self._setter("short_description"),
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._webhook_info,
            "getChatAdministrators": self._get_chat_administrators,
        }

    # ----------------------------------------------------------------------------- dispatch

    async def handle(self, method: str, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call with (HTTP status, Telegram JSON body)."""
        decoded = decode_params(params)
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        delivered: int | None = None
        if method == "getUpdates":
            status, body = 200, {"ok": True, "result": await self._get_updates(decoded)}
        else:
            status, body, delivered = self._handle_sync(method, decoded)
        if self.record_calls:
            result = body.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else delivered
            with self._lock:
                self.calls.append(ApiCall(method, decoded, status, message_id))
        if status == 0:
            raise AnswerLost(method)
        return status, body

    def _handle_sync(
        self, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], int | None]:
        """Run a non-blocking method under the state lock.

        Returns the HTTP status (0: the answer is lost), the body, and the id of a message the
        call sent before it failed, if it did.
        """
        handler = self._handlers.get(method)
        if handler is None:
            return 404, error_body(404, "Not Found", None), None
        delivered: int | None = None
        with self._lock:
            try:
                self._moved(params)
                fault = self._fault_for(method, params)
                if fault is not None and not fault.delivered:
                    raise fault_error(fault)
                result = handler(params)
                if fault is not None:
                    if isinstance(result, dict):
                        delivered = result.get("message_id")
                    if fault.status == 0:
                        return 0, {}, delivered
                    raise fault_error(fault)
            except ApiError as exc:
                body = error_body(
                    exc.status, exc.description, exc.retry_after, exc.migrate_to_chat_id
                )
                return exc.status, body, delivered
        return 200, {"ok": True, "result": result}, None

    def _true(self, params: dict[str, Any]) -> bool:
        """Methods that simply succeed."""
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetMe: the bot's own User object."""
        return dict(self._me)

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """GetChatAdministrators: those a test named, else everyone seen in the group."""
        chat_id = int(params["chat_id"])
        if chat_id > 0:
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        named = self.administrators.get(chat_id)
        ids = named if named is not None else sorted(self._members.get(chat_id, ()))
        return [
            {
                "status": "administrator",
                "user": self._users.get(user_id, {"id": user_id, "is_bot": False}),
            }
            for user_id in ids
        ]

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        """DeleteWebhook; drop_pending_updates forgets queued updates as Telegram does."""
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        return True

    def _webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ------------------------------------------------------------------------- inspection

    def sent_to(self, chat_id: int) -> list[ApiCall]:
        """Successful send*/edit* calls addressed to ``chat_id``, oldest first."""
        with self._lock:
            calls = list(self.calls)
        return [
            call
            for call in calls
            if call.status == 200
            and call.params.get("chat_id") == chat_id
            and call.method.startswith(_OUTGOING_PREFIXES)
        ]

    def last_message(self, chat_id: int) -> ApiCall | None:
        """The most recent successful send*/edit* call to ``chat_id``, if any."""
        sent = self.sent_to(chat_id)
        return sent[-1] if sent else None

    def texts(self, chat_id: int) -> list[str]:
        """Texts the bot sent or edited into ``chat_id``, as passed (markup not stripped)."""
        return [call.params["text"] for call in self.sent_to(chat_id) if "text" in call.params]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a stored message (after edits), or None if unknown/deleted."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
        return stored.message if stored else None

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message ``chat_id`` holds now (after edits, without deleted ones), by id."""
        with self._lock:
            found = sorted(
                (message_id, stored.message)
                for (chat, message_id), stored in self._messages.items()
                if chat == chat_id
            )
        return [message for _, message in found]

    def commands(self, language_code: str = "", scope: str = "default") -> list[dict[str, Any]]:
        """Commands last set with setMyCommands for this language and scope type."""
        with self._lock:
            return list(self._commands.get((scope, language_code), []))

    # ------------------------------------------------------------------------ getUpdates

    def enqueue(self, update: dict[str, Any]) -> None:
        """Queue an incoming update for getUpdates and wake any waiting long poll."""
        with self._lock:
            self._updates.append(update)
            waiters = list(self._waiters)
        for waiter in waiters:
            # RuntimeError: that loop is closed, so nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                waiter.loop.call_soon_threadsafe(waiter.event.set)

    @property
    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def _take_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Confirm updates below ``offset`` and return the batch Telegram would answer."""
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        allowed = params.get("allowed_updates") or None
        with self._lock:
            if offset < 0:
                del self._updates[:offset]
            elif offset > 0 and self._updates and self._updates[0]["update_id"] < offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if allowed:  # Telegram does not keep updates of kinds the bot did not ask for
                self._updates = [u for u in self._updates if any(k in u for k in allowed)]
            return self._updates[:limit]

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long-poll for updates: wait up to ``timeout`` seconds for at least one."""
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            batch = self._take_updates(params)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return batch
            waiter = _Waiter(asyncio.get_running_loop())
            with self._lock:
                self._waiters.append(waiter)
                queued = bool(self._updates)
            try:
                if not queued:
                    try:
                        await asyncio.wait_for(waiter.event.wait(), remaining)
                    except TimeoutError:
                        return []
            finally:
                with self._lock:
                    self._waiters.remove(waiter)
