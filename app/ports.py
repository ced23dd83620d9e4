"""What the core needs from the world: channels that reach people, a lock per person, a clock.

The core (``app/``) knows no channel library and no SQL dialect. A channel (``channels/*``)
implements :class:`Channel`: it sends a message by meaning (:class:`~conversations.outbound.
Outbound`), says what it can do (:class:`Capabilities`) and turns its own failures into the
few kinds the core acts on (:class:`Retry`, :class:`Unreachable`, :class:`Refused`,
:class:`Moved`).
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
    ``text_limit``/``caption_limit``: characters; ``formatting``: the markup texts are sent in;
    ``toasts``: a button press can be answered with a short flash (else a toast that is the
    whole answer goes as a message).
    """

    edits: bool
    delete_window: timedelta | None
    buttons_per_message: int
    button_label: int
    list_rows: int
    text_limit: int
    caption_limit: int
    formatting: str
    toasts: bool = True


@dataclass(frozen=True, slots=True)
class Sent:
    """The ids a message went out under: its text, its location pin if it had one.

    ``copies``: earlier copies of the text, left by attempts whose outcome was unknown and
    found afterwards (see :class:`Progress`); they are the same message and go with it.
    """

    message_id: str | None
    pin_id: str | None = None
    copies: tuple[str, ...] = ()

    def ids(self) -> list[str]:
        """Every id, those that exist: text first, then the pin, then the copies."""
        found = [one for one in (self.message_id, self.pin_id) if one is not None]
        return [*found, *self.copies]


@dataclass(frozen=True, slots=True)
class Progress:
    """How far earlier attempts at one message got; each part is a step of its own.

    ``sent``: the parts that went out (a part with an id is never sent again) and the copies
    found so far; ``unsure``: how many attempts at the next part ended without knowing
    whether it arrived (a timeout after the request went out, a server error). A channel that
    can look for what such attempts left does so once the part goes out, and returns what it
    found in :attr:`Sent.copies`. ``since``: the channel's own mark of where to look (opaque
    to the core, kept with the row); without it nothing is looked for.
    """

    sent: Sent = Sent(None)
    unsure: int = 0
    since: str | None = None

    @property
    def started(self) -> bool:
        """Whether anything is known of earlier attempts (the delivery worker keeps it)."""
        return bool(self.sent.ids()) or self.unsure > 0


class Removal(StrEnum):
    """What became of a request to delete a message."""

    DELETED = "deleted"  # gone, or already gone
    REFUSED = "refused"  # the channel keeps it (Telegram: over 48 hours old): edit it instead
    FAILED = "failed"  # the chat cannot be reached


class DeliveryError(Exception):
    """A message did not go out; the subclass says what to do about it.

    ``progress`` says which of its parts did go out before the failure (kept, so that a
    retry sends only the rest, and erasure finds what is in the chat).
    """

    progress: Progress = Progress()


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


class Moved(DeliveryError):
    """The chat lives at another address now (Telegram: a group upgraded to a supergroup).

    Nothing was sent; the message goes to ``to`` instead, and so does everything after it.
    """

    def __init__(self, to: Address) -> None:
        super().__init__("the chat moved")
        self.to = to


class Refused(DeliveryError):
    """The channel refused the message itself (malformed, or its target gone): not retried.

    The reason names what was wrong, never what was in the message.
    """


class Channel(Protocol):
    """A way to reach people: Telegram, WhatsApp."""

    name: str
    capabilities: Capabilities

    async def send(
        self, chat: Address, message: Outbound, *, progress: Progress | None = None
    ) -> Sent:
        """Send ``message`` (or replace the one it names, where the channel can).

        Each part (the text, the pin) is a step: those in ``progress`` are not sent again. A
        failure says in its :attr:`DeliveryError.progress` what went out before it.
        """
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

    async def administrators(self, chat: Address) -> frozenset[str]:
        """The ids of the people who administer a group chat."""
        ...


class PersonLock(Protocol):
    """Keeps one person's events one at a time (in arrival order), others side by side."""

    def __call__(self, person: Address) -> AbstractAsyncContextManager[None]:
        """Hold the person's lock for the ``async with`` block."""
        ...


#: The time now, timezone-aware (tests pass a fixed one).
Clock = Callable[[], datetime]
