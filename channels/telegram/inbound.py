"""Telegram updates in, as the core's events: a person, a chat, what they did."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from conversations.events import (
    Address,
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

#: The channel's name in every address.
CHANNEL = "telegram"

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


def address(telegram_id: int) -> Address:
    """Return the address of a Telegram user or chat."""
    return Address(CHANNEL, str(telegram_id))


def to_inbound(update: Update, operators: Address | None = None) -> Inbound | None:
    """Read an update into an event, or None for updates no flow answers (edits, joins).

    Group chats are not read, except the commands sent in the operators' chat and replies
    there to the bot's messages (an answer to a customer's conversation).
    """
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        chat_id = message.chat.id if message is not None else query.from_user.id
        private = message is None or message.chat.type == "private"
        sender = _sender(query.from_user, chat_id, private)
        message_id = str(message.message_id) if message is not None else None
        return Inbound(sender, ButtonPress(query.data or "", message_id), receipt=query.id)
    message = update.message
    if message is None or message.from_user is None:
        return None
    private = message.chat.type == "private"
    if not private and not _for_us(message, operators):
        return None
    sender = _sender(message.from_user, message.chat.id, private)
    return Inbound(sender, _payload(message), reply_to=_reply_to(message))


def _for_us(message: Message, operators: Address | None) -> bool:
    # The operators talk among themselves in their chat: only their commands, and their
    # replies to the bot's messages, are for us.
    if operators is None or address(message.chat.id) != operators:
        return False
    return (message.text or "").startswith("/") or _reply_to(message) is not None


def _reply_to(message: Message) -> str | None:
    """The id of the bot's message this one replies to, if it replies to one."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    return str(replied.message_id)


def _sender(user: Any, chat_id: int, private: bool) -> Sender:
    return Sender(
        person=address(user.id),
        chat=address(chat_id),
        first_name=user.first_name,
        language_code=user.language_code,
        private=private,
    )


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
        owner = str(contact.user_id) if contact.user_id is not None else None
        return ContactShared(contact.phone_number, owner, contact.first_name)
    if message.location is not None and message.venue is None:
        return LocationShared(message.location.latitude, message.location.longitude)
    for kind in _MEDIA_KINDS:
        if getattr(message, kind, None):
            return Unsupported("voice" if kind == "video_note" else kind)
    return Unsupported("other")
