"""What to show, by meaning: messages, choices, requests, documents; no channel in sight.

A message says what it means: its text, the choices under it (buttons), the answers it
suggests or the details it asks for (keys: a text, the person's contact, their location), a
pin, and whether it replaces an earlier message. How that looks on a channel (an inline
keyboard, three reply buttons or a list, an edit or a new message) is the channel's renderer's
business (``channels/*/render.py``).

Texts use a small HTML subset (``<b>``, ``<i>``) and are already safe: every piece of user
text is escaped by the flow that renders it. The limits below are the core's own promise,
chosen to fit every channel: a channel whose limits are wider takes them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: The longest text of one message (Telegram's and WhatsApp's limit alike).
MAX_TEXT = 4096
#: The most data a button carries back (Telegram's callback data; WhatsApp allows more).
MAX_BUTTON_DATA = 64
#: The longest caption of a document.
MAX_CAPTION = 1024
#: The largest document sent in one message.
MAX_DOCUMENT = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Button:
    """A choice under a message; pressing it comes back as a ``ButtonPress`` with ``data``."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > MAX_BUTTON_DATA:
            raise ValueError(f"button data over {MAX_BUTTON_DATA} bytes: {self.data!r}")


class KeyKind(StrEnum):
    """What a key asks for when tapped: its label as text, the contact or the location."""

    TEXT = "text"
    CONTACT = "contact"
    LOCATION = "location"


@dataclass(frozen=True, slots=True)
class Key:
    """A suggested answer (sent back as text) or a request for the contact or the location."""

    label: str
    kind: KeyKind = KeyKind.TEXT


Rows = tuple[tuple[Button, ...], ...]
KeyRows = tuple[tuple[Key, ...], ...]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message.

    ``buttons`` are choices under the message; ``keys`` are suggested answers and requests
    that stay until replaced, and ``remove_keys`` takes them away. ``replaces`` names an
    earlier message this one stands in for: a channel that can edit edits it, another sends
    anew. ``location`` is a pin shown after the text. ``shows_offer`` names the accepted job
    offer whose customer contact the message shows: the ids it is sent under are kept, so
    erasing that customer removes it too. ``purpose`` names what a notice is for
    (``job_offer``, ``job_update``, ``reminder``), so that a channel that may only send
    approved templates at times (WhatsApp, outside its 24-hour window) can pick one.
    """

    text: str
    buttons: Rows = ()
    keys: KeyRows = ()
    remove_keys: bool = False
    replaces: str | None = None
    location: tuple[float, float] | None = None
    shows_offer: int | None = None
    purpose: str | None = None

    def __post_init__(self) -> None:
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"message of {len(self.text)} characters is over {MAX_TEXT}")


@dataclass(frozen=True, slots=True)
class Document:
    """A file (such as a data export); ``caption`` is HTML-safe like a text."""

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


Effect = Outbound | Document


@dataclass(slots=True)
class Reply:
    """What the person who wrote is answered: messages in order, and a short toast.

    The toast is the flash a button press may show (where the channel has one). Messages to
    anyone else are never part of a reply: they are notices, stored with the change that
    causes them and sent by the delivery worker.
    """

    effects: list[Effect] = field(default_factory=list)
    toast: str | None = None

    def send(self, message: Effect) -> None:
        """Append a message to deliver."""
        self.effects.append(message)

    def extend(self, other: Reply) -> None:
        """Append another reply's messages (and take its toast if this one has none)."""
        self.effects.extend(other.effects)
        self.toast = self.toast or other.toast


def to_json(message: Outbound) -> dict[str, Any]:
    """Return ``message`` as plain JSON values (what the outbox stores)."""
    body: dict[str, Any] = {"text": message.text}
    if message.buttons:
        body["buttons"] = [[[b.label, b.data] for b in row] for row in message.buttons]
    if message.keys:
        body["keys"] = [[[k.label, str(k.kind)] for k in row] for row in message.keys]
    if message.remove_keys:
        body["remove_keys"] = True
    if message.replaces is not None:
        body["replaces"] = message.replaces
    if message.location is not None:
        body["location"] = list(message.location)
    if message.shows_offer is not None:
        body["shows_offer"] = message.shows_offer
    if message.purpose is not None:
        body["purpose"] = message.purpose
    return body


def from_json(body: dict[str, Any]) -> Outbound:
    """Rebuild the message :func:`to_json` stored (rows stored before 0007 included)."""
    location = body.get("location")
    replaces = body.get("replaces", body.get("edit_message_id"))
    return Outbound(
        text=str(body["text"]),
        buttons=tuple(
            tuple(Button(label, data) for label, data in row) for row in body.get("buttons", ())
        ),
        keys=tuple(
            tuple(Key(label, KeyKind(kind)) for label, kind in row) for row in body.get("keys", ())
        ),
        remove_keys=bool(body.get("remove_keys", False)),
        replaces=None if replaces is None else str(replaces),
        location=(float(location[0]), float(location[1])) if location else None,
        shows_offer=body.get("shows_offer"),
        purpose=body.get("purpose"),
    )
