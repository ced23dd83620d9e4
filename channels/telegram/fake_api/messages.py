"""The fake's chats and the Bot API methods that send, edit and delete messages or set commands."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.telegram.fake_api.markup import (
    CANT_DELETE,
    MESSAGE_NOT_FOUND,
    NOT_MODIFIED,
    ApiError,
    inline_markup,
    render_caption,
    render_text,
)
from channels.telegram.fake_api.request import MAX_UPLOAD_BYTES, Upload

#: Chat ids below this are supergroups and channels (``-100…``): each counts its own ids.
SUPERGROUP_IDS = -1_000_000_000_000
#: The key of the counter shared by the bot's private chats and basic groups.
SHARED_COUNTER = 0


@dataclass(slots=True)
class Stored:
    """A message the fake server knows about, plus what is needed to detect no-op edits."""

    message: dict[str, Any]
    from_bot: bool
    source: tuple[Any, ...] = ()


class ChatState:
    """The chats, users and messages the fake knows (set up by ``FakeBotApi.__init__``)."""

    _lock: threading.Lock
    _clock: Callable[[], float]
    _bot_user: dict[str, Any]
    _file_ids: itertools.count[int]
    #: The last message id in each chat (what a chat's newest message is).
    _message_ids: dict[int, int]
    #: The last id each counter gave (``_counter``); False: every chat counts its own.
    _counters: dict[int, int]
    _shared_ids: bool
    _messages: dict[tuple[int, int], Stored]
    _users: dict[int, dict[str, Any]]
    #: Who has written or pressed in each group chat.
    _members: dict[int, set[int]]
    #: Groups that were upgraded into these supergroups (``migrate_group``).
    _supergroups: set[int]

    def _chat(self, chat_id: int) -> dict[str, Any]:
        """The Chat object for ``chat_id`` (a private chat with a known or anonymous user)."""
        if chat_id < 0:
            upgraded = chat_id in self._supergroups or chat_id < SUPERGROUP_IDS
            kind = "supergroup" if upgraded else "group"
            return {"id": chat_id, "type": kind, "title": "Group"}
        user = self._users.get(chat_id)
        first_name = user["first_name"] if user is not None else "User"
        return {"id": chat_id, "first_name": first_name, "type": "private"}

    def _new_message(self, chat_id: int, from_user: dict[str, Any]) -> dict[str, Any]:
        """Allocate the next message id and build the common Message fields.

        As on Telegram, a supergroup (or channel) numbers its messages on its own, while
        private chats and basic groups take their ids from one counter, the bot's own: ids
        in one such chat are increasing but not dense.
        """
        counter = self._counter(chat_id)
        message_id = self._counters.get(counter, 0) + 1
        self._counters[counter] = self._message_ids[chat_id] = message_id
        return {
            "message_id": message_id,
            "from": from_user,
            "chat": self._chat(chat_id),
            "date": int(self._clock()),
        }

    def _counter(self, chat_id: int) -> int:
        """The key of the counter ``chat_id``'s message ids come from (0: the bot's own)."""
        shared = self._shared_ids and chat_id not in self._supergroups
        return SHARED_COUNTER if shared and chat_id >= SUPERGROUP_IDS else chat_id

    def _file(self, prefix: str) -> dict[str, Any]:
        """Fresh file_id / file_unique_id pair."""
        n = next(self._file_ids)
        return {"file_id": f"{prefix}{n:012d}", "file_unique_id": f"U{prefix}{n:08d}"}


def _chat_id(params: dict[str, Any]) -> int:
    """The integer chat_id of a call, or the 400 Telegram answers."""
    chat_id = params.get("chat_id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _message_key(params: dict[str, Any], missing: str) -> tuple[int, int]:
    """The (chat_id, message_id) a call targets, or ``missing`` as a 400."""
    chat_id = _chat_id(params)
    message_id = params.get("message_id")
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise ApiError(400, missing)
    return chat_id, message_id


def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
    """Key commands by scope type and language code."""
    scope = params.get("scope") or {}
    return scope.get("type", "default"), params.get("language_code") or ""


class MessageHandlers(ChatState):
    """Handlers (called with the state lock held) for the message and command methods."""

    #: Telegram lets a bot delete a message for 48 hours; older ones are refused with
    #: :data:`CANT_DELETE`. Set it to 0 to have every deletion refused.
    delete_window: float = 48 * 3600.0

    _commands: dict[tuple[str, str], list[dict[str, Any]]]
    _texts: dict[tuple[str, str], str]
    _documents: dict[str, dict[str, Any]]

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendMessage."""
        chat_id = _chat_id(params)
        text = render_text(params)
        markup = inline_markup(params)
        message = self._new_message(chat_id, self._bot_user)
        message["text"] = text
        if "entities" in params:
            message["entities"] = params["entities"]
        if markup is not None:
            message["reply_markup"] = markup
        source = (params["text"], params.get("parse_mode"), params.get("entities"), markup)
        self._messages[(chat_id, message["message_id"])] = Stored(message, True, source)
        return message

    def _send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendLocation."""
        chat_id = _chat_id(params)
        try:
            location = {
                "latitude": float(params["latitude"]),
                "longitude": float(params["longitude"]),
            }
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong latitude or longitude") from None
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if key in params:
                location[key] = params[key]
        markup = inline_markup(params)
        message = self._new_message(chat_id, self._bot_user)
        message["location"] = location
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = Stored(message, True, (markup,))
        return message

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendDocument: an uploaded file (multipart), or a file_id sent before."""
        chat_id = _chat_id(params)
        document = params.get("document")
        if isinstance(document, (bytes, bytearray)):
            # The HTTP fake hands over a part's bytes alone.
            document = Upload("document", bytes(document))
        if isinstance(document, Upload):
            if not document.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(document.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
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
            raise ApiError(400, "Bad Request: there is no document in the request")
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = render_caption(params)
        markup = inline_markup(params)
        message = self._new_message(chat_id, self._bot_user)
        message["document"] = dict(info)
        if caption is not None:
            message["caption"] = caption
        if markup is not None:
            message["reply_markup"] = markup
        source = (params.get("caption"), params.get("parse_mode"), markup)
        self._messages[(chat_id, message["message_id"])] = Stored(message, True, source)
        return message

    def _editable(self, params: dict[str, Any]) -> tuple[tuple[int, int], Stored]:
        """Find the bot message an edit* call targets, or raise Telegram's 400."""
        key = _message_key(params, MESSAGE_NOT_FOUND)
        stored = self._messages.get(key)
        if stored is None:
            raise ApiError(400, MESSAGE_NOT_FOUND)
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return key, stored

    def _edited(
        self,
        key: tuple[int, int],
        stored: Stored,
        changes: dict[str, Any],
        source: tuple[Any, ...],
    ) -> dict[str, Any]:
        """Store a new version of an edited message and return it."""
        message = {k: v for k, v in stored.message.items() if k != "reply_markup"}
        message.update(changes)
        message["edit_date"] = int(self._clock())
        self._messages[key] = Stored(message, True, source)
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        """EditMessageText; without reply_markup the inline keyboard is removed, as on Telegram."""
        if "inline_message_id" in params:
            render_text(params)
            return True
        key, stored = self._editable(params)
        if "text" not in stored.message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = render_text(params)
        markup = inline_markup(params)
        source = (params["text"], params.get("parse_mode"), params.get("entities"), markup)
        if source == stored.source:
            raise ApiError(400, NOT_MODIFIED)
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
        markup = inline_markup(params)
        if markup == stored.message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        source = (*stored.source[:-1], markup) if stored.source else (markup,)
        changes = {"reply_markup": markup} if markup is not None else {}
        return self._edited(key, stored, changes, source)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        """DeleteMessage; a message older than ``delete_window`` seconds is refused."""
        missing = "Bad Request: message to delete not found"
        key = _message_key(params, missing)
        stored = self._messages.get(key)
        if stored is None:
            raise ApiError(400, missing)
        if self._clock() - stored.message.get("date", 0) >= self.delete_window:
            raise ApiError(400, CANT_DELETE)
        del self._messages[key]
        return True

    # ------------------------------------------------------------ commands and descriptions

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        """SetMyCommands for a scope/language."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be an array of at most 100")
        for command in commands:
            name = command.get("command", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[_scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """GetMyCommands for a scope/language."""
        return list(self._commands.get(_scope_key(params), []))

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
