"""The bot object: python-telegram-bot's ExtBot, plus lean sends for the reply path.

``Bot.send_message`` turns Telegram's answer into a full :class:`telegram.Message` (the
echoed keyboard included) and the keyboard we pass into objects that are turned straight
back into JSON: about a fifth of an update's time, for a message id we only sometimes read.
:meth:`MistriBot.send_text` and :meth:`MistriBot.edit_text` send the same request through the
same machinery (defaults, the rate limiter, error mapping to ``BadRequest``/``Forbidden``…)
and return just the id.
"""

from __future__ import annotations

from typing import Any

from telegram.constants import ParseMode
from telegram.ext import ExtBot

JSONDict = dict[str, Any]
_NO_PREVIEW: JSONDict = {"is_disabled": True}


class MistriBot(ExtBot[Any]):
    """ExtBot with id-only sends of HTML text."""

    async def send_text(self, chat_id: int, text: str, *, markup: JSONDict | None = None) -> int:
        """Send ``text`` as HTML with ``markup`` (Bot API JSON); return the message id."""
        data: JSONDict = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": ParseMode.HTML,
            "link_preview_options": _NO_PREVIEW,
            "reply_markup": markup,
        }
        result = await self._post("sendMessage", data)
        return int(result["message_id"])

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, markup: JSONDict | None = None
    ) -> None:
        """Replace the text (and inline keyboard) of a message we sent."""
        data: JSONDict = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": ParseMode.HTML,
            "link_preview_options": _NO_PREVIEW,
            "reply_markup": markup,
        }
        await self._post("editMessageText", data)

    async def administrator_ids(self, chat_id: int) -> frozenset[int]:
        """The user ids of a group's administrators (its owner too), as Telegram lists them."""
        members = await self._post("getChatAdministrators", {"chat_id": chat_id})
        return frozenset(int(member["user"]["id"]) for member in members)
