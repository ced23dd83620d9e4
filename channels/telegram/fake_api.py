"""In-process simulation of the Telegram Bot API, for the offline demo, the tests and benchmarks.

``FakeBotApi`` keeps the little state a bot can observe (messages it sent, queued updates,
commands, descriptions), answers Bot API methods with the JSON Telegram would send, records
every call and can be told to fail the next call(s) for a chat.  ``OfflineRequest`` plugs it
into python-telegram-bot as its networking backend, so ``telegram.Bot`` / ``Application`` run
unchanged with no token and no network.

Thread-safety: state is guarded by a ``threading.Lock`` and ``getUpdates`` long polling wakes
waiters through ``loop.call_soon_threadsafe``, so one ``FakeBotApi`` may be driven from several
threads and event loops at once (e.g. an HTTP server thread and a test's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = [
    "BOT_BLOCKED",
    "FLOOD_WAIT",
    "MESSAGE_NOT_FOUND",
    "NOT_MODIFIED",
    "ApiCall",
    "FakeBotApi",
    "OfflineRequest",
    "Upload",
    "decode_params",
]

BOT_ID = 7000000001
BOT_USERNAME = "mistri_demo_bot"
BOT_FIRST_NAME = "Mistri"

BOT_BLOCKED = "Forbidden: bot was blocked by the user"
FLOOD_WAIT = "Too Many Requests: retry after {retry_after}"
MESSAGE_NOT_FOUND = "Bad Request: message to edit not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
CANT_DELETE = "Bad Request: message can't be deleted"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
#: The largest file a bot may upload (multipart/form-data).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

# Parameters Telegram always treats as strings: never JSON-decode them, even when they look
# like numbers or JSON (a message text "123" or "[1]" must stay text).
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "description",
        "emoji",
        "explanation",
        "first_name",
        "inline_message_id",
        "last_name",
        "language_code",
        "message_effect_id",
        "name",
        "parse_mode",
        "payload",
        "phone_number",
        "provider_token",
        "question",
        "secret_token",
        "short_description",
        "start_parameter",
        "text",
        "title",
        "url",
        "vcard",
    }
)
_JSON_START = frozenset('{["-0123456789tfn')

# Methods whose successful calls count as "sent to a chat" for sent_to() / last_message().
_OUTGOING_PREFIXES = ("send", "edit", "copy", "forward")
_NOT_OUTGOING = frozenset({"sendChatAction"})

_UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "my_chat_member",
    "chat_member",
)

# Telegram's HTML parse mode: the tags it accepts (anything else is a 400).
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "u",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One recorded Bot API call: method name, JSON-decoded params and the HTTP status answered."""

    method: str
    params: dict[str, Any]
    status: int = 200
    #: The id of the message the call sent or edited, when it answered with a message.
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    """A file uploaded with a call (a multipart/form-data part), as the server received it."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass(slots=True)
class _Fault:
    """A pending injected failure."""

    chat_id: int | None
    status: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass(slots=True)
class _Stored:
    """A message the fake server knows about, plus what is needed to detect no-op edits."""

    message: dict[str, Any]
    from_bot: bool
    source: tuple[Any, ...] = ()


@dataclass(slots=True)
class _Waiter:
    """A getUpdates long poll waiting in some event loop."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)


class _ApiError(Exception):
    """Raised inside method handlers to answer an error body."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return Bot API params with JSON-encoded values (markup, ids, booleans) decoded."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if (
            isinstance(value, str)
            and value
            and value[0] in _JSON_START
            and key not in _STRING_PARAMS
        ):  # a JSON-encoded value (form-encoded HTTP, or a str passed via api_kwargs)
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        else:
            params[key] = value
    return params


def _error_body(status: int, description: str, retry_after: int | None) -> dict[str, Any]:
    """Build the JSON body Telegram sends for a failed call."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram uses for offsets and limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``index`` in ``text`` (Telegram reports HTML errors this way)."""
    return len(text[:index].encode())


def _unescape_html(text: str) -> str:
    """Replace the HTML entities Telegram understands; leave anything else as typed."""
    if "&" not in text:
        return text
    return _HTML_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)


def _render_html(text: str) -> str:
    """Strip Telegram-HTML markup from ``text`` or raise the 400 Telegram would answer."""
    if "<" not in text:
        return _unescape_html(text)
    parts: list[str] = []
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        parts.append(text[pos:start])
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            raise _ApiError(
                400,
                'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset'
                f" {_byte_offset(text, start)}",
            )
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            if not stack or stack[-1] != name:
                expected = f'expected "</{stack[-1]}>", ' if stack else ""
                raise _ApiError(
                    400,
                    "Bad Request: can't parse entities: Unmatched end tag at byte offset"
                    f' {_byte_offset(text, start)}, {expected}found "</{name}>"',
                )
            stack.pop()
        else:
            if name not in _HTML_TAGS:
                raise _ApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte'
                    f" offset {_byte_offset(text, start)}",
                )
            stack.append(name)
        pos = match.end()
    if stack:
        raise _ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag"
            f' "{stack[-1]}"',
        )
    parts.append(text[pos:])
    return _unescape_html("".join(parts))


def _check_inline_keyboard(markup: dict[str, Any]) -> None:
    """Reject inline keyboards Telegram would reject (oversized callback_data, bare buttons)."""
    for row in markup.get("inline_keyboard", ()):
        for button in row:
            data = button.get("callback_data")
            if data is not None:
                if not data or len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif len(button) <= 1:
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: Text buttons are"
                    " unallowed in the inline keyboard",
                )


class FakeBotApi:
    """In-memory Bot API: answers methods like Telegram, records calls, injects faults."""

    #: Telegram lets a bot delete a message for 48 hours; older ones are refused with
    #: :data:`CANT_DELETE`. Set it to 0 to have every deletion refused.
    delete_window: float = 48 * 3600.0

    def __init__(
        self,
        *,
        delay: float = 0.0,
        record_calls: bool = True,
        clock: Callable[[], float] = time.time,
        bot_id: int = BOT_ID,
        username: str = BOT_USERNAME,
        first_name: str = BOT_FIRST_NAME,
    ) -> None:
        """Create an empty fake; sleep ``delay`` seconds per call; ``clock`` dates messages."""
        self.delay = delay
        self.record_calls = record_calls
        self.calls: list[ApiCall] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._bot_user: dict[str, Any] = {
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
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], _Stored] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._waiters: list[_Waiter] = []
        self._faults: list[_Fault] = []
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._texts: dict[tuple[str, str], str] = {}
        self._documents: dict[str, dict[str, Any]] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "sendMessage": self._send_message,
            "sendLocation": self._send_location,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._true,
            "sendChatAction": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._setter("description"),
            "getMyDescription": self._getter("description"),
            "setMyShortDescription": self._setter("short_description"),
            "getMyShortDescription": self._getter("short_description"),
            "setMyName": self._setter("name"),
            "getMyName": self._getter("name"),
            "setChatMenuButton": self._true,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._true,
            "getWebhookInfo": self._get_webhook_info,
        }

    # ----------------------------------------------------------------------------- dispatch

    async def handle(self, method: str, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call with (HTTP status, Telegram JSON body)."""
        decoded = decode_params(params)
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        if method == "getUpdates":
            status, body = 200, {"ok": True, "result": await self._get_updates(decoded)}
        else:
            status, body = self._handle_sync(method, decoded)
        if self.record_calls:
            result = body.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            with self._lock:
                self.calls.append(ApiCall(method, decoded, status, message_id))
        return status, body

    def _handle_sync(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run a non-blocking method under the state lock."""
        handler = self._handlers.get(method)
        if handler is None:
            return 404, _error_body(404, "Not Found", None)
        with self._lock:
            try:
                self._maybe_fail(params)
                result = handler(params)
            except _ApiError as exc:
                return exc.status, _error_body(exc.status, exc.description, exc.retry_after)
        return 200, {"ok": True, "result": result}

    def _maybe_fail(self, params: dict[str, Any]) -> None:
        """Raise the first pending injected fault that matches this call's chat."""
        if not self._faults or "chat_id" not in params:
            return
        chat_id = params["chat_id"]
        for fault in self._faults:
            if fault.chat_id is None or fault.chat_id == chat_id:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise _ApiError(fault.status, fault.description, fault.retry_after)

    # ----------------------------------------------------------------------- fault injection

    def fail_next(
        self,
        chat_id: int | None,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``chat_id`` (any chat if None) fail with ``status``."""
        if status < 400:
            raise ValueError("fail_next needs an HTTP error status (>= 400)")
        if status == 429 and retry_after is None:
            raise ValueError("a 429 needs retry_after")
        if "{retry_after}" in description:
            description = description.format(retry_after=retry_after)
        with self._lock:
            self._faults.append(_Fault(chat_id, status, description, retry_after, times))

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
            and call.method not in _NOT_OUTGOING
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

    def commands(self, language_code: str = "", scope: str = "default") -> list[dict[str, Any]]:
        """Commands last set with setMyCommands for this language and scope type."""
        with self._lock:
            return list(self._commands.get((scope, language_code), []))

    def clear(self) -> None:
        """Forget recorded calls and pending faults; messages and queued updates are kept."""
        with self._lock:
            self.calls.clear()
            self._faults.clear()

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

    # ------------------------------------------------------------------- method handlers

    def _true(self, params: dict[str, Any]) -> bool:
        """Methods that simply succeed."""
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetMe: the bot's own User object."""
        return dict(self._me)

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        """DeleteWebhook; drop_pending_updates forgets queued updates as Telegram does."""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetWebhookInfo for a bot that uses long polling."""
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _setter(self, key: str) -> Callable[[dict[str, Any]], bool]:
        """Build a setMy* handler storing ``key`` per language."""

        def set_value(params: dict[str, Any]) -> bool:
            self._texts[(key, params.get("language_code") or "")] = params.get(key) or ""
            return True

        return set_value

    def _getter(self, key: str) -> Callable[[dict[str, Any]], dict[str, str]]:
        """Build a getMy* handler answering ``{key: value}`` for a language."""

        def get_value(params: dict[str, Any]) -> dict[str, str]:
            lang = params.get("language_code") or ""
            value = self._texts.get((key, lang))
            if value is None:
                value = self._texts.get((key, ""), "")
            return {key: value}

        return get_value

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        """Key commands by scope type and language code."""
        scope = params.get("scope") or {}
        return scope.get("type", "default"), params.get("language_code") or ""

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        """SetMyCommands for a scope/language."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: commands must be an array of at most 100")
        for command in commands:
            name = command.get("command", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """GetMyCommands for a scope/language."""
        return list(self._commands.get(self._scope_key(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        """DeleteMyCommands for a scope/language."""
        self._commands.pop(self._scope_key(params), None)
        return True

    # -------------------------------------------------------------- messages (lock held)

    def _chat(self, chat_id: int) -> dict[str, Any]:
        """The Chat object for ``chat_id`` (a private chat with a known or anonymous user)."""
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": "Group"}
        user = self._users.get(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "first_name": "User", "type": "private"}
        if user is not None:
            chat["first_name"] = user["first_name"]
            for key in ("last_name", "username"):
                if key in user:
                    chat[key] = user[key]
        return chat

    @staticmethod
    def _chat_id(params: dict[str, Any]) -> int:
        """The integer chat_id of a call, or the 400 Telegram answers."""
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            if chat_id is None:
                raise _ApiError(400, "Bad Request: chat_id is empty")
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _new_message(self, chat_id: int, from_user: dict[str, Any]) -> dict[str, Any]:
        """Allocate the next message id in a chat and build the common Message fields."""
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        return {
            "message_id": message_id,
            "from": from_user,
            "chat": self._chat(chat_id),
            "date": int(self._clock()),
        }

    @staticmethod
    def _render_text(params: dict[str, Any]) -> str:
        """The text a user would see, validated like Telegram validates it."""
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        if isinstance(parse_mode, str) and parse_mode.lower() == "html":
            text = _render_html(text)
            if not text.strip():
                raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH // 2 and _utf16_len(text) > MAX_TEXT_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
        """The inline keyboard of a call (the only markup Telegram echoes back), validated."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            _check_inline_keyboard(markup)
            return markup
        return None

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendMessage."""
        chat_id = self._chat_id(params)
        text = self._render_text(params)
        markup = self._inline_markup(params)
        message = self._new_message(chat_id, self._bot_user)
        message["text"] = text
        if "entities" in params:
            message["entities"] = params["entities"]
        if markup is not None:
            message["reply_markup"] = markup
        source = (params["text"], params.get("parse_mode"), params.get("entities"), markup)
        self._messages[(chat_id, message["message_id"])] = _Stored(message, True, source)
        return message

    def _send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendLocation."""
        chat_id = self._chat_id(params)
        try:
            location = {
                "latitude": float(params["latitude"]),
                "longitude": float(params["longitude"]),
            }
        except (KeyError, TypeError, ValueError):
            raise _ApiError(400, "Bad Request: wrong latitude or longitude") from None
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if key in params:
                location[key] = params[key]
        markup = self._inline_markup(params)
        message = self._new_message(chat_id, self._bot_user)
        message["location"] = location
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = _Stored(message, True, (markup,))
        return message

    @staticmethod
    def _render_caption(params: dict[str, Any]) -> str | None:
        """The caption a user would see (None without one), validated like Telegram does."""
        caption = params.get("caption")
        if caption is None or caption == "":
            return None
        if not isinstance(caption, str):
            raise _ApiError(400, "Bad Request: can't parse caption")
        parse_mode = params.get("parse_mode")
        if isinstance(parse_mode, str) and parse_mode.lower() == "html":
            caption = _render_html(caption)
        if _utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return caption or None

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendDocument: an uploaded file (multipart), or a file_id sent before."""
        chat_id = self._chat_id(params)
        document = params.get("document")
        if isinstance(document, (bytes, bytearray)):
            # The HTTP fake hands over a part's bytes alone.
            document = Upload("document", bytes(document))
        if isinstance(document, Upload):
            if not document.content:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            if len(document.content) > MAX_UPLOAD_BYTES:
                raise _ApiError(413, "Request Entity Too Large")
            info = {
                **self._file("BQACAgIAAxkBAAI"),
                "file_name": document.filename,
                "mime_type": document.mime_type or "application/octet-stream",
                "file_size": len(document.content),
            }
            self._documents[info["file_id"]] = info
        elif isinstance(document, str) and document in self._documents:
            info = self._documents[document]
        elif document is None or document == "":
            raise _ApiError(400, "Bad Request: there is no document in the request")
        else:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = self._render_caption(params)
        markup = self._inline_markup(params)
        message = self._new_message(chat_id, self._bot_user)
        message["document"] = dict(info)
        if caption is not None:
            message["caption"] = caption
        if markup is not None:
            message["reply_markup"] = markup
        source = (params.get("caption"), params.get("parse_mode"), markup)
        self._messages[(chat_id, message["message_id"])] = _Stored(message, True, source)
        return message

    def _message_key(self, params: dict[str, Any], missing: str) -> tuple[int, int]:
        """The (chat_id, message_id) a call targets, or ``missing`` as a 400."""
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise _ApiError(400, missing)
        return chat_id, message_id

    def _editable(self, params: dict[str, Any]) -> tuple[tuple[int, int], _Stored]:
        """Find the bot message an edit* call targets, or raise Telegram's 400."""
        key = self._message_key(params, MESSAGE_NOT_FOUND)
        stored = self._messages.get(key)
        if stored is None:
            raise _ApiError(400, MESSAGE_NOT_FOUND)
        if not stored.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return key, stored

    def _edited(
        self,
        key: tuple[int, int],
        stored: _Stored,
        changes: dict[str, Any],
        source: tuple[Any, ...],
    ) -> dict[str, Any]:
        """Store a new version of an edited message and return it."""
        message = {k: v for k, v in stored.message.items() if k != "reply_markup"}
        message.update(changes)
        message["edit_date"] = int(self._clock())
        self._messages[key] = _Stored(message, True, source)
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        """EditMessageText; without reply_markup the inline keyboard is removed, as on Telegram."""
        if "inline_message_id" in params:
            self._render_text(params)
            return True
        key, stored = self._editable(params)
        if "text" not in stored.message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._render_text(params)
        markup = self._inline_markup(params)
        source = (params["text"], params.get("parse_mode"), params.get("entities"), markup)
        if source == stored.source:
            raise _ApiError(400, NOT_MODIFIED)
        changes: dict[str, Any] = {"text": text}
        if "entities" in params:
            changes["entities"] = params["entities"]
        if markup is not None:
            changes["reply_markup"] = markup
        message = self._edited(key, stored, changes, source)
        if "entities" not in params:
            message.pop("entities", None)
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        """EditMessageReplyMarkup; no reply_markup removes the inline keyboard."""
        if "inline_message_id" in params:
            return True
        key, stored = self._editable(params)
        markup = self._inline_markup(params)
        if markup == stored.message.get("reply_markup"):
            raise _ApiError(400, NOT_MODIFIED)
        source = (*stored.source[:-1], markup) if stored.source else (markup,)
        changes = {"reply_markup": markup} if markup is not None else {}
        return self._edited(key, stored, changes, source)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        """DeleteMessage; a message older than ``delete_window`` seconds is refused."""
        missing = "Bad Request: message to delete not found"
        key = self._message_key(params, missing)
        stored = self._messages.get(key)
        if stored is None:
            raise _ApiError(400, missing)
        if self._clock() - stored.message.get("date", 0) >= self.delete_window:
            raise _ApiError(400, CANT_DELETE)
        del self._messages[key]
        return True

    # ------------------------------------------------------------------ update builders

    def _user(
        self, user_id: int, first_name: str, language_code: str | None, **extra: Any
    ) -> dict[str, Any]:
        """Build (and remember, for Chat objects) an incoming human User."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        user.update({k: v for k, v in extra.items() if v is not None})
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        return dict(user)

    def _incoming(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None,
        content: dict[str, Any],
    ) -> dict[str, Any]:
        """Build an Update carrying a private message from a user, storing the message."""
        with self._lock:
            user = self._user(user_id, first_name, language_code)
            message = self._new_message(user_id, user)
            message.update(content)
            self._messages[(user_id, message["message_id"])] = _Stored(message, False)
            update_id = next(self._update_ids)
        return {"update_id": update_id, "message": message}

    def text_update(
        self,
        user_id: int,
        text: str,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
    ) -> dict[str, Any]:
        """An Update with a private text message; a leading /command gets its entity."""
        content: dict[str, Any] = {"text": text}
        command = _COMMAND_RE.match(text) if text.startswith("/") else None
        if command is not None:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
        return self._incoming(user_id, first_name, language_code, content)

    def callback_update(
        self,
        user_id: int,
        data: str,
        message_id: int,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
    ) -> dict[str, Any]:
        """An Update with a callback query pressed on bot message ``message_id``."""
        with self._lock:
            user = self._user(user_id, first_name, language_code)
            stored = self._messages.get((user_id, message_id))
            if stored is not None:
                message = dict(stored.message)
            else:
                message = {
                    "message_id": message_id,
                    "from": self._bot_user,
                    "chat": self._chat(user_id),
                    "date": int(self._clock()),
                }
            query_id = str(4_000_000_000_000_000 + next(self._callback_ids))
            update_id = next(self._update_ids)
        return {
            "update_id": update_id,
            "callback_query": {
                "id": query_id,
                "from": user,
                "message": message,
                "chat_instance": str((user_id * 2_654_435_761) % (1 << 62)),
                "data": data,
            },
        }

    def group_text_update(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
    ) -> dict[str, Any]:
        """An Update with a text message from ``user_id`` in group ``chat_id`` (negative)."""
        content: dict[str, Any] = {"text": text}
        command = _COMMAND_RE.match(text) if text.startswith("/") else None
        if command is not None:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
        with self._lock:
            user = self._user(user_id, first_name, language_code)
            message = self._new_message(chat_id, user)
            message.update(content)
            self._messages[(chat_id, message["message_id"])] = _Stored(message, False)
            update_id = next(self._update_ids)
        return {"update_id": update_id, "message": message}

    def group_callback_update(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        message_id: int,
        *,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
    ) -> dict[str, Any]:
        """An Update with a callback query pressed by ``user_id`` on a message in a group."""
        update = self.callback_update(user_id, data, message_id, first_name, language_code)
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            message = dict(stored.message) if stored is not None else None
            chat = self._chat(chat_id)
        if message is None:
            message = {**update["callback_query"]["message"], "chat": chat}
        update["callback_query"]["message"] = message
        return update

    def contact_update(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
    ) -> dict[str, Any]:
        """An Update with a shared contact (own number when contact_user_id == user_id)."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._incoming(user_id, first_name, language_code, {"contact": contact})

    def location_update(
        self,
        user_id: int,
        lat: float,
        lon: float,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
    ) -> dict[str, Any]:
        """An Update with a shared location."""
        location = {"latitude": float(lat), "longitude": float(lon)}
        return self._incoming(user_id, first_name, language_code, {"location": location})

    def _file(self, prefix: str) -> dict[str, Any]:
        """Fresh file_id / file_unique_id pair."""
        n = next(self._file_ids)
        return {"file_id": f"{prefix}{n:012d}", "file_unique_id": f"U{prefix}{n:08d}"}

    def sticker_update(
        self,
        user_id: int,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
        emoji: str = "👍",
    ) -> dict[str, Any]:
        """An Update with a regular static sticker."""
        sticker = {
            **self._file("CAACAgIAAxkBAAI"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 23_456,
        }
        return self._incoming(user_id, first_name, language_code, {"sticker": sticker})

    def photo_update(
        self,
        user_id: int,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
        caption: str | None = None,
    ) -> dict[str, Any]:
        """An Update with a photo in the usual three sizes, optionally captioned."""
        sizes = [
            {**self._file("AgACAgUAAxkBAAI"), "width": w, "height": h, "file_size": s}
            for w, h, s in ((90, 67, 1_234), (320, 240, 15_678), (1280, 960, 123_456))
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._incoming(user_id, first_name, language_code, content)

    def voice_update(
        self,
        user_id: int,
        first_name: str = "Rahim",
        language_code: str | None = "bn",
        duration: int = 3,
    ) -> dict[str, Any]:
        """An Update with a voice note."""
        voice = {
            **self._file("AwACAgUAAxkBAAI"),
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4_000 * duration,
        }
        return self._incoming(user_id, first_name, language_code, {"voice": voice})


def _uploads(request_data: RequestData) -> dict[str, Upload]:
    """The files of a request, by part name (the parameter, or an attach:// name)."""
    uploads: dict[str, Upload] = {}
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content.read() if hasattr(content, "read") else content
        uploads[name] = Upload(filename or name, bytes(data), mime_type)
    return uploads


class OfflineRequest(BaseRequest):
    """python-telegram-bot networking backend that answers from a ``FakeBotApi``, no sockets."""

    __slots__ = ("_api", "_read_timeout")

    def __init__(self, api: FakeBotApi, read_timeout: float | None = 5.0) -> None:
        """Route requests to ``api``; ``read_timeout`` only matters when ``api.delay`` is set."""
        self._api = api
        self._read_timeout = read_timeout

    @property
    def api(self) -> FakeBotApi:
        """The fake server behind this request object."""
        return self._api

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout; PTB adds getUpdates' ``timeout`` to it for long polls."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_request(  # noqa: PLR0917 - signature fixed by BaseRequest
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer the Bot API method named by the last path segment of ``url``."""
        api_method = url.rsplit("/", 1)[-1]
        params: Mapping[str, Any] = request_data.parameters if request_data is not None else {}
        if request_data is not None and request_data.contains_files:
            # Files travel as multipart parts beside the other parameters, as over HTTP.
            params = {**params, **_uploads(request_data)}
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        call = self._api.handle(api_method, params)
        if self._api.delay > 0 and timeout is not None and self._api.delay > timeout:
            try:
                status, body = await asyncio.wait_for(call, timeout)
            except TimeoutError:
                raise TimedOut from None
        else:
            status, body = await call
        return status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
