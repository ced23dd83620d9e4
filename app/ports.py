"""What the core needs from the world: channels that reach people, a lock per person, a clock.

The core (``app/``) knows no channel library and no SQL dialect. A channel (``channels/*``)
implements :class:`Channel`: it sends a message by meaning (:class:`~conversations.outbound.
Outbound`), says what it can do (:class:`Capabilities`) and turns its own failures into the
few kinds the core acts on (:class:`Retry`, :class:`Unreachable`, :class:`Refused`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from conversations.events import Address, Inbound
from conversations.outbound import Document, Outbound


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do with a message, so renderers and the core degrade in time.

    ``edits``: a sent message can be replaced in place (else a new one is sent);
    ``delete_window``: how long after sending the bot may delete a message (None: never);
    ``buttons_per_message``: choices shown as buttons (more become a list of ``list_rows``
    rows per message, where the channel has lists); ``button_label``: the longest label;
    ``text_limit``/``caption_limit``: characters; ``formatting``: the markup texts are sent in.
    """

    edits: bool
    delete_window: timedelta | None
    buttons_per_message: int
    button_label: int
    list_rows: int
    text_limit: int
    caption_limit: int
    formatting: str


@dataclass(frozen=True, slots=True)
class Sent:
    """The ids a message went out under: its text, and its location pin if it had one."""

    message_id: str | None
    pin_id: str | None = None

    def ids(self) -> list[str]:
        """Both ids, those that exist, text first."""
        return [found for found in (self.message_id, self.pin_id) if found is not None]


class Removal(StrEnum):
    """What became of a request to delete a message."""

    DELETED = "deleted"  # gone, or already gone
    REFUSED = "refused"  # the channel keeps it (Telegram: over 48 hours old): edit it instead
    FAILED = "failed"  # the chat cannot be reached


class DeliveryError(Exception):
    """A message did not go out; the subclass says what to do about it."""


class Retry(DeliveryError):
    """Try again later.

    After ``after`` seconds (the channel's own wait, as for a 429), or with backoff when None
    (a network error, a timeout).
    """

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Unreachable(DeliveryError):
    """The chat cannot be reached (blocked, deleted, outside the channel's window)."""


class Refused(DeliveryError):
    """The channel refused the message itself (malformed, or its target gone): not retried.

    The reason names what was wrong, never what was in the message.
    """


class Channel(Protocol):
    """A way to reach people: Telegram, WhatsApp."""

    name: str
    capabilities: Capabilities

    async def send(self, chat: Address, message: Outbound) -> Sent:
        """Send ``message`` (or replace the one it names, where the channel can)."""
        ...

    async def send_document(self, chat: Address, document: Document) -> Sent:
        """Send a file."""
        ...

    async def delete(self, chat: Address, message_id: str) -> Removal:
        """Delete a message the bot sent."""
        ...

    async def replace_text(self, chat: Address, message_id: str, text: str) -> bool:
        """Replace the text of a sent message (its buttons go); False where it cannot."""
        ...

    async def acknowledge(self, event: Inbound, toast: str | None) -> None:
        """Answer the press of a button (with a short toast, where the channel shows one)."""
        ...


class PersonLock(Protocol):
    """Keeps one person's events one at a time (in arrival order), others side by side."""

    def __call__(self, person: Address) -> AbstractAsyncContextManager[None]:
        """Hold the person's lock for the ``async with`` block."""
        ...


#: The time now, timezone-aware (tests pass a fixed one).
Clock = Callable[[], datetime]
