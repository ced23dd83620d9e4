"""Messages by meaning, rendered as the Cloud API wants them: one or more message requests.

- Text alone is a ``text`` message (markup converted, :mod:`.markup`).
- Up to three choices whose labels fit (20) are reply ``button`` s; more, or longer labels,
  a ``list`` (titles 24, the full label in the row's description, 72). A list holds 10 rows:
  more choices go out as further lists, "2/3", "3/3" — each a message, never a request the
  Cloud API refuses. A body over 1,024 characters (the interactive limit) goes first as a
  text message of its own, the choices under its last lines.
- Keys: suggested answers are choices too (the label comes back as text); the contact key
  is a button that shares the sender's own number (WhatsApp knows it, inbound.py); the
  location key is a ``location_request_message``, after the other keys when there are some.
- A pin is a ``location`` message, last.
- No edits: a message that replaces another is sent anew. No deletion: the Cloud API has
  no call to delete or edit a message a business sent (its messages endpoint only sends and
  marks as read: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages;
  pywa's client, which covers that endpoint, has no delete or edit either).
"""

from __future__ import annotations

import re
from typing import Any

from app.ports import Capabilities
from channels.whatsapp import limits
from channels.whatsapp.inbound import CONTACT_ID, KEY_PREFIX
from channels.whatsapp.markup import plain, to_whatsapp
from conversations.i18n import N_, translator
from conversations.outbound import Document, Key, KeyKind, Outbound

JSONDict = dict[str, Any]

CAPABILITIES = Capabilities(
    edits=False,
    delete_window=None,
    buttons_per_message=limits.BUTTONS,
    button_label=limits.BUTTON_TITLE,
    list_rows=limits.LIST_ROWS,
    text_limit=limits.TEXT_BODY,
    caption_limit=limits.CAPTION,
    formatting="whatsapp",
    toasts=False,
)

#: The label of the button that opens a list (WhatsApp needs one).
CHOOSE = N_("Choose")
_BENGALI = re.compile("[\u0980-\u09ff]")


def language(text: str) -> str:
    """Guess the language a text is in (``bn`` when it has Bengali letters, else ``en``)."""
    return "bn" if _BENGALI.search(text) else "en"


def render(message: Outbound) -> list[JSONDict]:
    """Return the message requests (without ``to``) that show ``message``, in order.

    The first stands for the message; the last is its pin when it has one.
    """
    choices = _choices(message)
    location_key = next(
        (key for row in message.keys for key in row if key.kind is KeyKind.LOCATION), None
    )
    if message.buttons:
        location_key = None  # as on Telegram, buttons win over keys
    text = to_whatsapp(message.text)
    text = text if text.strip() else "…"  # the Cloud API refuses an empty body
    parts: list[JSONDict] = []
    if choices:
        lead, body = _split(text, limits.INTERACTIVE_BODY)
        if lead:
            parts.append(text_part(lead))
        parts.extend(_interactive(body, choices, language(message.text)))
        if location_key is not None:
            parts.append(_location_request(plain(" ".join(location_key.label.split())) or "📍"))
    elif location_key is not None:
        lead, body = _split(text, limits.INTERACTIVE_BODY)
        if lead:
            parts.append(text_part(lead))
        parts.append(_location_request(body))
    else:
        parts.append(text_part(text))
    if message.location is not None:
        latitude, longitude = message.location
        pin = {"latitude": latitude, "longitude": longitude}
        parts.append({"type": "location", "location": pin})
    return parts


def request(to: str, part: JSONDict) -> JSONDict:
    """Return the full request body that sends ``part`` to the WhatsApp id ``to``."""
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **part}


def text_part(text: str) -> JSONDict:
    """A text message (no link previews: a link in someone's answer shows as it is)."""
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def document_part(media_id: str, document: Document) -> JSONDict:
    """A document message for an uploaded file."""
    body: JSONDict = {"id": media_id, "filename": document.filename}
    caption = to_whatsapp(document.caption)
    if caption:
        body["caption"] = caption
    return {"type": "document", "document": body}


def _choices(message: Outbound) -> list[tuple[str, str]]:
    """(id, label) for every choice: the buttons, else the keys but the location's."""
    if message.buttons:
        return _unique((button.data, button.label) for row in message.buttons for button in row)
    return _unique(
        (_key_id(key), key.label)
        for row in message.keys
        for key in row
        if key.kind is not KeyKind.LOCATION
    )


def _key_id(key: Key) -> str:
    if key.kind is KeyKind.CONTACT:
        return CONTACT_ID
    label = key.label
    while limits.size(KEY_PREFIX + label) > limits.ROW_ID:
        label = label[:-1]
    return KEY_PREFIX + label


def _unique(pairs: Any) -> list[tuple[str, str]]:
    """Choices with distinct ids (the Cloud API refuses a repeated one): the first stays."""
    seen: set[str] = set()
    found = []
    for data, label in pairs:
        if data not in seen:
            seen.add(data)
            found.append((data, label))
    return found


def _interactive(body: str, choices: list[tuple[str, str]], lang: str) -> list[JSONDict]:
    # Labels are plain text (as on Telegram, where a button's text is never parsed).
    labels = [" ".join(label.split()) or "…" for _, label in choices]
    fits = all(0 < limits.size(label) <= limits.BUTTON_TITLE for label in labels)
    # Reply buttons must differ in title too; a list tells rows apart by their ids.
    if len(choices) <= limits.BUTTONS and fits and len(set(labels)) == len(labels):
        buttons = [
            {"type": "reply", "reply": {"id": data, "title": label}}
            for (data, _), label in zip(choices, labels, strict=True)
        ]
        return [_wrap("button", body, {"buttons": buttons})]
    rows = [_row(data, label) for (data, _), label in zip(choices, labels, strict=True)]
    pages = [rows[at : at + limits.LIST_ROWS] for at in range(0, len(rows), limits.LIST_ROWS)]
    choose = limits.shorten(translator(lang)._(CHOOSE), limits.LIST_BUTTON)
    parts = []
    for number, page in enumerate(pages, start=1):
        page_body = body if number == 1 else f"{number}/{len(pages)}"
        action = {"button": choose, "sections": [{"rows": page}]}
        parts.append(_wrap("list", page_body, action))
    return parts


def _row(data: str, label: str) -> JSONDict:
    title = limits.shorten(label, limits.ROW_TITLE) or "…"
    row: JSONDict = {"id": data, "title": title}
    if title != label:
        row["description"] = limits.shorten(label, limits.ROW_DESCRIPTION)
    return row


def _wrap(kind: str, body: str, action: JSONDict) -> JSONDict:
    return {
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": body}, "action": action},
    }


def _location_request(body: str) -> JSONDict:
    return _wrap("location_request_message", body, {"name": "send_location"})


def _split(text: str, limit: int) -> tuple[str, str]:
    """Split ``text`` into a lead (sent as text first; may be empty) and a tail that fits.

    The tail is the last lines that fit ``limit``; a single longer line is cut.
    """
    if limits.size(text) <= limit:
        return "", text
    lines = text.split("\n")
    tail: list[str] = []
    used = -1  # the line breaks between the lines kept
    while lines and used + 1 + limits.size(lines[-1]) <= limit:
        used += 1 + limits.size(lines[-1])
        tail.insert(0, lines.pop())
    if not tail:  # one line longer than the limit: its end goes with the choices
        last = lines.pop()
        at, used = len(last), 0
        while at > 0 and used + limits.size(last[at - 1]) <= limit:
            at -= 1
            used += limits.size(last[at])
        lines.append(last[:at])
        tail = [last[at:]]
    lead = "\n".join(lines)
    body = "\n".join(tail)
    return (lead if lead.strip() else ""), (body if body.strip() else "…")
