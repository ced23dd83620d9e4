"""The Telegram adapter: updates in as typed events, replies out as Bot API calls.

This is the only place that knows both python-telegram-bot and the conversation core. It
reads an :class:`telegram.Update` into an :class:`~conversations.events.Inbound`, hands it to
the :class:`~bot.dispatch.Dispatcher`, then answers the button press and delivers the
reply's effects in order.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.dispatch import Dispatcher, Removal
from bot.telegram_bot import JSONDict, MistriBot
from conversations import common
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    Inbound,
    LocationShared,
    Payload,
    Sender,
    Text,
    Unsupported,
)
from conversations.i18n import pick_language
from conversations.outbound import ClearButtons, Document, Effect, Key, KeyKind, Outbound

log = logging.getLogger(__name__)

#: Message attributes we name when someone sends what a step cannot read.
_MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "animation",
    "document",
    "poll",
    "dice",
    "game",
    "venue",
)


def to_inbound(update: Update, operators_chat: int | None = None) -> Inbound | None:
    """Read an update into an event, or None for updates no flow answers (edits, joins).

    Group chats are not read, except the commands sent in the operators' chat.
    """
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        chat_id = message.chat.id if message is not None else query.from_user.id
        sender = _sender(query.from_user, chat_id)
        message_id = message.message_id if message is not None else None
        return Inbound(sender, ButtonPress(query.data or "", message_id))
    message = update.message
    if message is None or message.from_user is None:
        return None
    if message.chat.type != "private" and not _operators_command(message, operators_chat):
        return None
    return Inbound(_sender(message.from_user, message.chat.id), _payload(message))


def _operators_command(message: Message, operators_chat: int | None) -> bool:
    # The operators talk among themselves in their chat: only their commands are for us.
    return (
        operators_chat is not None
        and message.chat.id == operators_chat
        and (message.text or "").startswith("/")
    )


def _sender(user: Any, chat_id: int) -> Sender:
    return Sender(user.id, chat_id, user.first_name, user.language_code)


def _payload(message: Message) -> Payload:
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            # "/book@mistri_bot" in a chat with several bots names us explicitly.
            return Command(head.partition("@")[0].lower(), args.strip())
        return Text(text)
    if message.contact is not None:
        contact = message.contact
        return ContactShared(contact.phone_number, contact.user_id, contact.first_name)
    if message.location is not None and message.venue is None:
        return LocationShared(message.location.latitude, message.location.longitude)
    for kind in _MEDIA_KINDS:
        if getattr(message, kind, None):
            return Unsupported("voice" if kind == "video_note" else kind)
    return Unsupported("other")


def _markup(message: Outbound) -> JSONDict | None:
    """Return the message's keyboard as Bot API JSON (what the keyboard objects would give)."""
    if message.buttons:
        return {
            "inline_keyboard": [
                [{"text": button.label, "callback_data": button.data} for button in row]
                for row in message.buttons
            ]
        }
    if message.keys:
        return {
            "keyboard": [[_key(key) for key in row] for row in message.keys],
            "resize_keyboard": True,
        }
    if message.remove_keys:
        return {"remove_keyboard": True}
    return None


def _key(key: Key) -> JSONDict:
    if key.kind is KeyKind.CONTACT:
        return {"text": key.label, "request_contact": True}
    if key.kind is KeyKind.LOCATION:
        return {"text": key.label, "request_location": True}
    return {"text": key.label}


async def deliver(bot: MistriBot, effect: Effect) -> int | None:
    """Carry out one effect; return the id of the message sent or edited."""
    if isinstance(effect, ClearButtons):
        try:
            await bot.edit_message_reply_markup(effect.chat_id, effect.message_id)
        except BadRequest:
            pass  # already gone or unchanged: nothing to clear
        return effect.message_id
    if isinstance(effect, Document):
        return await _send_document(bot, effect)
    markup = _markup(effect)
    if effect.edit_message_id is not None:
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        try:
            await bot.edit_text(effect.chat_id, effect.edit_message_id, effect.text, markup=inline)
            return effect.edit_message_id
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return effect.edit_message_id
            # The message is too old or gone: say it anew instead.
    message_id = await bot.send_text(effect.chat_id, effect.text, markup=markup)
    if effect.location is not None:
        await bot.send_location(effect.chat_id, effect.location[0], effect.location[1])
    return message_id


async def deliver_tracked(bot: MistriBot, message: Outbound) -> tuple[int | None, int | None]:
    """Deliver ``message``; return the ids of its message and of its location pin, if any.

    The outbox keeps both, so the pair can be deleted if the person asks to be erased.
    """
    if message.location is None:
        return await deliver(bot, message), None
    text_id = await deliver(bot, replace(message, location=None))
    pin = await bot.send_location(message.chat_id, message.location[0], message.location[1])
    return text_id, pin.message_id


async def _send_document(bot: MistriBot, document: Document) -> int:
    """Upload ``document`` as a file (multipart); return the message id."""
    sent = await bot.send_document(
        document.chat_id,
        InputFile(document.content, filename=document.filename),
        caption=document.caption or None,
        parse_mode=ParseMode.HTML if document.caption else None,
    )
    return sent.message_id


class TelegramNotifier:
    """Sends messages to people other than the sender (technicians, customers, operators)."""

    def __init__(self, bot: MistriBot) -> None:
        self._bot = bot

    async def push(self, message: Outbound) -> list[int]:
        """Deliver ``message``; return the ids of its text and pin (none if unreachable)."""
        try:
            sent = await deliver_tracked(self._bot, message)
        except Forbidden:
            log.warning("a chat cannot be reached (blocked or deactivated)")
            return []
        except TelegramError as error:
            log.warning("a message could not be delivered: %s", type(error).__name__)
            return []
        return [message_id for message_id in sent if message_id is not None]

    async def delete(self, chat_id: int, message_id: int) -> Removal:
        """Delete a message we sent; REFUSED when Telegram keeps it (over 48 hours old)."""
        try:
            await self._bot.delete_message(chat_id, message_id)
        except BadRequest as error:
            if "not found" in str(error).lower():
                return Removal.DELETED  # the person deleted it already
            return Removal.REFUSED
        except TelegramError as error:
            log.warning("a message could not be deleted: %s", type(error).__name__)
            return Removal.FAILED
        return Removal.DELETED

    async def replace_text(self, message: Outbound) -> bool:
        """Replace the text of message ``message.edit_message_id`` (buttons go); never resend."""
        if message.edit_message_id is None:
            return False
        try:
            await self._bot.edit_text(message.chat_id, message.edit_message_id, message.text)
        except BadRequest as error:
            return "not modified" in str(error).lower()
        except TelegramError as error:
            log.warning("a message could not be edited: %s", type(error).__name__)
            return False
        return True


class UpdateHandler:
    """The one python-telegram-bot callback: every update goes through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update end to end."""
        event = to_inbound(update, self.dispatcher.operators_chat)
        if event is None:
            return
        bot = _lean(context.bot)
        try:
            reply = await self.dispatcher.handle(event)
        except Exception:
            log.exception("update %s failed", update.update_id)
            await self._apologise(update, event)
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(reply.toast)
            except TelegramError:
                pass  # the press is older than Telegram keeps queries: the reply still goes out
        shown: list[tuple[int, int]] = []
        for effect in reply.effects:
            try:
                message_id = await deliver(bot, effect)
            except Forbidden:
                log.info("sender's chat is closed to the bot; reply dropped")
                return
            except TelegramError as error:
                log.warning("reply delivery failed: %s", type(error).__name__)
                continue
            offer_id = effect.shows_offer if isinstance(effect, Outbound) else None
            if offer_id is not None and message_id is not None:
                shown.append((offer_id, message_id))
        if shown:  # only technicians' job messages: nothing to do on a customer's update
            try:
                await self.dispatcher.record_views(shown)
            except Exception:  # the answer is out; a lost record must not lose the follow-ups
                log.exception("recording the job messages of update %s failed", update.update_id)
        for followup in reply.followups:
            try:
                await followup()
            except Exception:
                log.exception("follow-up of update %s failed", update.update_id)

    async def _apologise(self, update: Update, event: Inbound) -> None:
        lang = pick_language(event.sender.language_code)
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            message = common.error_apology(event.sender.chat_id, lang)
            await deliver(_lean(update.get_bot()), message)
        except TelegramError:
            log.warning("could not send the apology either")


def _lean(bot: object) -> MistriBot:
    # build_application always makes the Application's bot a MistriBot.
    assert isinstance(bot, MistriBot), "the Application must be built by bot.app"
    return bot
