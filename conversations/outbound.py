"""Outbound messages addressed to recipients, in a channel-neutral form.

Texts are HTML-safe already: every piece of user text is escaped by the flow that renders it,
so an adapter may send them with an HTML parse mode as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Telegram's limits, which are also sane limits for any chat channel.
MAX_TEXT = 4096
MAX_BUTTON_DATA = 64
MAX_CAPTION = 1024
#: The most a bot may upload in one file.
MAX_DOCUMENT = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button; pressing it comes back as a ``ButtonPress`` with ``data``."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > MAX_BUTTON_DATA:
            raise ValueError(f"button data over {MAX_BUTTON_DATA} bytes: {self.data!r}")


class KeyKind(StrEnum):
    """What a reply-keyboard key sends when tapped."""

    TEXT = "text"
    CONTACT = "contact"
    LOCATION = "location"


@dataclass(frozen=True, slots=True)
class Key:
    """A reply-keyboard key: sends its label as text, or the user's contact or location."""

    label: str
    kind: KeyKind = KeyKind.TEXT


Rows = tuple[tuple[Button, ...], ...]
KeyRows = tuple[tuple[Key, ...], ...]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to one chat.

    ``buttons`` are inline buttons under the message; ``keys`` replace the reply keyboard;
    ``remove_keys`` removes it. When ``edit_message_id`` is set, the adapter edits that
    earlier message instead of sending a new one. ``location`` sends a pin after the text.
    ``shows_offer`` names the accepted job offer whose customer contact the message shows:
    the adapter reports the id of what it sent, so erasing that customer deletes it too.
    """

    chat_id: int
    text: str
    buttons: Rows = ()
    keys: KeyRows = ()
    remove_keys: bool = False
    edit_message_id: int | None = None
    location: tuple[float, float] | None = None
    shows_offer: int | None = None

    def __post_init__(self) -> None:
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"message of {len(self.text)} characters is over {MAX_TEXT}")


@dataclass(frozen=True, slots=True)
class ClearButtons:
    """Remove the inline buttons of an earlier message (so they cannot be pressed again)."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent to a chat (such as a data export); ``caption`` is HTML-safe like a text."""

    chat_id: int
    filename: str
    content: bytes
    caption: str = ""

    def __post_init__(self) -> None:
        if not self.filename or "/" in self.filename:
            raise ValueError(f"not a plain file name: {self.filename!r}")
        if not self.content or len(self.content) > MAX_DOCUMENT:
            raise ValueError(f"a document of {len(self.content)} bytes cannot be sent")
        if len(self.caption) > MAX_CAPTION:
            raise ValueError(f"caption of {len(self.caption)} characters is over {MAX_CAPTION}")


Effect = Outbound | ClearButtons | Document


@dataclass(slots=True)
class Reply:
    """What a flow answers: effects to deliver, in order, and an optional button toast.

    ``followups`` run after the effects are delivered (work that involves other people, such
    as offering a job, so that the sender's answer never waits on it).
    """

    effects: list[Effect] = field(default_factory=list)
    toast: str | None = None
    followups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def send(self, message: Outbound) -> None:
        """Append a message to deliver."""
        self.effects.append(message)

    def extend(self, other: Reply) -> None:
        """Append another reply's effects (and take its toast if this one has none)."""
        self.effects.extend(other.effects)
        self.toast = self.toast or other.toast
        self.followups.extend(other.followups)


def to_json(message: Outbound) -> dict[str, Any]:
    """Return ``message`` as plain JSON values (what the outbox stores)."""
    body: dict[str, Any] = {"chat_id": message.chat_id, "text": message.text}
    if message.buttons:
        body["buttons"] = [[[b.label, b.data] for b in row] for row in message.buttons]
    if message.keys:
        body["keys"] = [[[k.label, str(k.kind)] for k in row] for row in message.keys]
    if message.remove_keys:
        body["remove_keys"] = True
    if message.edit_message_id is not None:
        body["edit_message_id"] = message.edit_message_id
    if message.location is not None:
        body["location"] = list(message.location)
    return body


def from_json(body: dict[str, Any]) -> Outbound:
    """Rebuild the message :func:`to_json` stored."""
    location = body.get("location")
    return Outbound(
        chat_id=int(body["chat_id"]),
        text=str(body["text"]),
        buttons=tuple(
            tuple(Button(label, data) for label, data in row) for row in body.get("buttons", ())
        ),
        keys=tuple(
            tuple(Key(label, KeyKind(kind)) for label, kind in row) for row in body.get("keys", ())
        ),
        remove_keys=bool(body.get("remove_keys", False)),
        edit_message_id=body.get("edit_message_id"),
        location=(float(location[0]), float(location[1])) if location else None,
    )
