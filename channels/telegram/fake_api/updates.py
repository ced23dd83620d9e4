"""Build the incoming Updates a user's messages, button presses and shared media would produce."""

from __future__ import annotations

import itertools
import re
from typing import Any

from channels.telegram.fake_api.markup import utf16_len
from channels.telegram.fake_api.messages import ChatState, Stored

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


def _text_content(text: str) -> dict[str, Any]:
    """A text message's content; a leading /command gets its bot_command entity."""
    content: dict[str, Any] = {"text": text}
    command = _COMMAND_RE.match(text) if text.startswith("/") else None
    if command is not None:
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
        ]
    return content


class UpdateBuilders(ChatState):
    """``*_update`` methods: Updates as Telegram would deliver them, with messages stored."""

    _update_ids: itertools.count[int]
    _callback_ids: itertools.count[int]

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        """Build (and remember, for Chat objects) an incoming human User."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        return dict(user)

    def _incoming(
        self,
        chat_id: int,
        user_id: int,
        first_name: str,
        language_code: str | None,
        content: dict[str, Any],
    ) -> dict[str, Any]:
        """Build an Update carrying a message from a user in ``chat_id``, storing the message."""
        with self._lock:
            user = self._user(user_id, first_name, language_code)
            if chat_id < 0:
                self._members.setdefault(chat_id, set()).add(user_id)
            message = self._new_message(chat_id, user)
            message.update(content)
            self._messages[(chat_id, message["message_id"])] = Stored(message, False)
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
        return self._incoming(user_id, user_id, first_name, language_code, _text_content(text))

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
        return self._incoming(chat_id, user_id, first_name, language_code, _text_content(text))

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
            self._members.setdefault(chat_id, set()).add(user_id)
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
        return self._incoming(user_id, user_id, first_name, language_code, {"contact": contact})

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
        return self._incoming(user_id, user_id, first_name, language_code, {"location": location})

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
        return self._incoming(user_id, user_id, first_name, language_code, {"sticker": sticker})

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
        return self._incoming(user_id, user_id, first_name, language_code, content)

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
        return self._incoming(user_id, user_id, first_name, language_code, {"voice": voice})
