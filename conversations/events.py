"""Typed inbound events: what a person did, whatever channel they did it on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an event: the channel's user id, the chat to answer in, and hints."""

    user_id: int
    chat_id: int
    first_name: str | None = None
    language_code: str | None = None


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
    """A press on an inline button; ``message_id`` is the message that carried it."""

    data: str
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContactShared:
    """A shared contact card; ``owner_user_id`` is whose contact it is, if known."""

    phone: str
    owner_user_id: int | None
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
    """One event from one person."""

    sender: Sender
    payload: Payload
