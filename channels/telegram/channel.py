"""Telegram as the core's :class:`~app.ports.Channel`: send, replace, delete, acknowledge.

Failures come back as the kinds the core acts on: ``403`` (blocked, deactivated) is
:class:`~app.ports.Unreachable`; ``429`` a :class:`~app.ports.Retry` after the wait Telegram
names; network errors and timeouts a :class:`~app.ports.Retry` with backoff; any other
``400`` :class:`~app.ports.Refused`, with Telegram's description (which names what was wrong,
never what was in the message).
"""

from __future__ import annotations

from datetime import timedelta

from telegram import InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from app.ports import DeliveryError, Refused, Removal, Retry, Sent, Unreachable
from channels.telegram.bot import MistriBot
from channels.telegram.inbound import CHANNEL
from channels.telegram.render import CAPABILITIES, inline, markup
from conversations.events import Address, Inbound
from conversations.outbound import Document, Outbound


class TelegramChannel:
    """Reaches Telegram chats through one bot."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(self, bot: MistriBot) -> None:
        self.bot = bot

    async def send(self, chat: Address, message: Outbound) -> Sent:
        """Send ``message`` (edit the one it replaces, where Telegram still lets us)."""
        try:
            return await self._send(int(chat.id), message)
        except TelegramError as error:
            raise translate(error) from error

    async def _send(self, chat_id: int, message: Outbound) -> Sent:
        rendered = markup(message)
        if message.replaces is not None:
            try:
                await self.bot.edit_text(
                    chat_id, int(message.replaces), message.text, markup=inline(rendered)
                )
                return Sent(message.replaces)
            except BadRequest as error:
                if "not modified" in str(error).lower():
                    return Sent(message.replaces)
                # The message is too old or gone: say it anew instead.
        text_id = await self.bot.send_text(chat_id, message.text, markup=rendered)
        pin_id = None
        if message.location is not None:
            latitude, longitude = message.location
            pin = await self.bot.send_location(chat_id, latitude, longitude)
            pin_id = str(pin.message_id)
        return Sent(str(text_id), pin_id)

    async def send_document(self, chat: Address, document: Document) -> Sent:
        """Upload ``document`` as a file (multipart)."""
        try:
            sent = await self.bot.send_document(
                int(chat.id),
                InputFile(document.content, filename=document.filename),
                caption=document.caption or None,
                parse_mode=ParseMode.HTML if document.caption else None,
            )
        except TelegramError as error:
            raise translate(error) from error
        return Sent(str(sent.message_id))

    async def delete(self, chat: Address, message_id: str) -> Removal:
        """Delete a message we sent; REFUSED when Telegram keeps it (over 48 hours old)."""
        try:
            await self.bot.delete_message(int(chat.id), int(message_id))
        except BadRequest as error:
            if "not found" in str(error).lower():
                return Removal.DELETED  # the person deleted it already
            return Removal.REFUSED
        except TelegramError as error:
            raise translate(error) from error
        return Removal.DELETED

    async def replace_text(self, chat: Address, message_id: str, text: str) -> bool:
        """Replace the text of a message we sent (its buttons go); never send anew."""
        try:
            await self.bot.edit_text(int(chat.id), int(message_id), text)
        except BadRequest as error:
            return "not modified" in str(error).lower()
        except TelegramError as error:
            raise translate(error) from error
        return True

    async def acknowledge(self, event: Inbound, toast: str | None) -> None:
        """Answer a button press, with ``toast`` shown on the button itself."""
        if event.receipt is None:
            return
        try:
            await self.bot.answer_callback_query(event.receipt, text=toast)
        except TelegramError as error:
            raise translate(error) from error


def translate(error: TelegramError) -> DeliveryError:
    """Return the kind of failure the core acts on for a Bot API error."""
    if isinstance(error, Forbidden):
        return Unreachable("the chat is closed to the bot")
    if isinstance(error, RetryAfter):
        return Retry("rate limited", after=_seconds(error.retry_after))
    if isinstance(error, BadRequest):  # before NetworkError: a BadRequest is one
        return Refused(error.message)
    if isinstance(error, NetworkError):
        return Retry(type(error).__name__)
    return Retry(type(error).__name__)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
