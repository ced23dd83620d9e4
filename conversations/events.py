"""Typed inbound events: what a person did, whatever channel they did it on.

People, chats and messages are named by strings within a channel: an :class:`Address` is a
channel's name and the channel's own id (``Address("telegram", "5001001")``, a WhatsApp
number). Nothing here assumes that a person's id is also their chat's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Address:
    """Someone or somewhere on a channel: a person, or a chat to write in."""

    channel: str
    id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.id}"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an event and where: the person, the chat to answer in, and hints.

    ``private`` is False for a group (the operators' chat); ``phone`` is the number a channel
    knows the person by (WhatsApp), as sent, or None.
    """

    person: Address
    chat: Address
    first_name: str | None = None
    language_code: str | None = None
    private: bool = True
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Text:
    """A plain text message."""

    text: str


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command such as ``/book``; ``name`` is lower case without the slash."""

    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A press on a button; ``message_id`` is the message that carried it, if known."""

    data: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ContactShared:
    """A shared contact card; ``owner`` is the id of whose contact it is, if the channel says."""

    phone: str
    owner: str | None
    first_name: str | None = None


@dataclass(frozen=True, slots=True)
class LocationShared:
    """A location pin."""

    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Anything a flow cannot read (sticker, photo, voice, document...); ``kind`` names it."""

    kind: str


Payload = Text | Command | ButtonPress | ContactShared | LocationShared | Unsupported


@dataclass(frozen=True, slots=True)
class Inbound:
    """One event from one person.

    ``receipt`` is the channel's own handle for acknowledging the event (the id of a button
    press, where the channel wants it answered), opaque to everyone else. ``reply_to`` is the
    id of the bot's message this one answers (a reply in the operators' chat), if any.
    """

    sender: Sender
    payload: Payload
    receipt: str | None = None
    reply_to: str | None = None
