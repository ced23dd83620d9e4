"""Messages by meaning, rendered as the Bot API wants them: HTML text and keyboards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.ports import Capabilities
from conversations.outbound import Key, KeyKind, Outbound

JSONDict = dict[str, Any]

#: What Telegram does with a message (Bot API limits).
CAPABILITIES = Capabilities(
    edits=True,
    # A bot may delete its own messages in private chats for 48 hours.
    delete_window=timedelta(hours=48),
    buttons_per_message=100,
    button_label=64,
    list_rows=0,
    text_limit=4096,
    caption_limit=1024,
    formatting="html",
    toasts=True,
)


def markup(message: Outbound) -> JSONDict | None:
    """Return the message's keyboard as Bot API JSON (what the keyboard objects would give).

    Choices become an inline keyboard; keys a reply keyboard (a key that asks for the contact
    or the location requests it).
    """
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


def inline(rendered: JSONDict | None) -> JSONDict | None:
    """The part of a keyboard an edit may carry (an edited message keeps no reply keys)."""
    return rendered if rendered is not None and "inline_keyboard" in rendered else None


def _key(key: Key) -> JSONDict:
    if key.kind is KeyKind.CONTACT:
        return {"text": key.label, "request_contact": True}
    if key.kind is KeyKind.LOCATION:
        return {"text": key.label, "request_location": True}
    return {"text": key.label}
