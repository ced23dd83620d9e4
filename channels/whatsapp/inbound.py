"""WhatsApp Cloud API webhooks in, as the core's events; delivery statuses as :class:`Status`.

A webhook body (``entry[].changes[].value``) carries the messages people sent
(``messages[]``, with ``contacts[]`` naming their profile) and what became of ours
(``statuses[]``). A person is their WhatsApp id (``wa_id``: the number, digits only), which is
also their chat: WhatsApp has no groups for bots.

WhatsApp has no command menu, so a few words typed alone count as commands ("help",
"সাহায্য", "menu", "মেনু"), and so does any text starting with a slash, as on Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
CHANNEL = "whatsapp"

#: What the renderer puts in the id of a reply button standing for a key (render.py): the
#: key's label comes back as text, the contact key as the sender's own number.
KEY_PREFIX = "wa|key|"
CONTACT_ID = "wa|contact"

#: Words that, typed alone, are the commands a menu would offer elsewhere.
WORDS = {
    "help": "help",
    "সাহায্য": "help",
    "menu": "start",
    "মেনু": "start",
    "start": "start",
    # A technician's: their open jobs, and applying to be one.
    "jobs": "jobs",
    "কাজ": "jobs",
    "register": "register",
    "নিবন্ধন": "register",
}

#: WhatsApp's message types and the names the flows use for what they cannot read.
_MEDIA_KINDS = {
    "image": "photo",
    "sticker": "sticker",
    "video": "video",
    "document": "document",
    "audio": "audio",
    "reaction": "reaction",
}


@dataclass(frozen=True, slots=True)
class Status:
    """What became of a message we sent: ``sent``, ``delivered``, ``read`` or ``failed``.

    ``recipient`` is the WhatsApp id it went to; ``errors`` the Cloud API's error codes.
    """

    message_id: str
    status: str
    recipient: str | None = None
    errors: tuple[int, ...] = ()


def address(wa_id: str) -> Address:
    """Return the address of a WhatsApp user (their WhatsApp id, digits only)."""
    return Address(CHANNEL, wa_id.lstrip("+"))


def to_inbounds(payload: dict[str, Any]) -> list[tuple[str, Inbound]]:
    """Read a webhook body into (WhatsApp message id, event) pairs, in the order sent.

    Messages without a sender or an id are skipped; so is a reaction taken back.
    """
    found: list[tuple[str, Inbound]] = []
    for value in _values(payload):
        names = {
            str(contact.get("wa_id")): _profile_name(contact)
            for contact in _list(value.get("contacts"))
        }
        for message in _list(value.get("messages")):
            sender_id, message_id = message.get("from"), message.get("id")
            if not isinstance(sender_id, str) or not isinstance(message_id, str):
                continue
            payload_ = _payload(message, sender_id, names.get(sender_id))
            if payload_ is None:
                continue
            person = address(sender_id)
            sender = Sender(
                person=person,
                chat=person,
                first_name=names.get(sender_id),
                phone="+" + person.id,
            )
            found.append((message_id, Inbound(sender, payload_, receipt=message_id)))
    return found


def statuses(payload: dict[str, Any]) -> list[Status]:
    """Read the delivery statuses of a webhook body (``value.statuses[]``)."""
    found = []
    for value in _values(payload):
        for status in _list(value.get("statuses")):
            message_id, state = status.get("id"), status.get("status")
            if not isinstance(message_id, str) or not isinstance(state, str):
                continue
            codes = tuple(
                int(error["code"])
                for error in _list(status.get("errors"))
                if isinstance(error.get("code"), int)
            )
            recipient = status.get("recipient_id")
            found.append(
                Status(message_id, state, recipient if isinstance(recipient, str) else None, codes)
            )
    return found


def _values(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        change["value"]
        for entry in _list(payload.get("entry"))
        for change in _list(entry.get("changes"))
        if isinstance(change.get("value"), dict)
    ]


def _list(value: Any) -> list[dict[str, Any]]:
    """The dicts of a JSON list (anything else in a hostile body is ignored)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _profile_name(contact: dict[str, Any]) -> str | None:
    profile = contact.get("profile")
    name = profile.get("name") if isinstance(profile, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def _payload(message: dict[str, Any], sender_id: str, name: str | None) -> Payload | None:
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return _text(str(body.get("body", "")))
    if kind == "interactive":
        return _interactive(message, body, sender_id, name)
    if kind == "button":  # a quick-reply button of a template
        return ButtonPress(str(body.get("payload", "")), _context(message))
    if kind == "location":
        try:
            return LocationShared(float(body["latitude"]), float(body["longitude"]))
        except (KeyError, TypeError, ValueError):
            return Unsupported("other")
    if kind == "contacts":
        return _contact(message)
    if kind == "reaction" and not body.get("emoji"):
        return None  # a reaction taken back
    if kind == "audio" and body.get("voice"):
        return Unsupported("voice")
    return Unsupported(_MEDIA_KINDS.get(str(kind), "other"))


def _text(text: str) -> Payload:
    stripped = text.strip()
    if stripped.startswith("/"):
        head, _, args = stripped[1:].partition(" ")
        return Command(head.lower(), args.strip())
    word = WORDS.get(stripped.lower())
    if word is not None:
        return Command(word)
    return Text(text)


def _interactive(
    message: dict[str, Any], body: dict[str, Any], sender_id: str, name: str | None
) -> Payload:
    reply = body.get(str(body.get("type")))
    if body.get("type") not in ("button_reply", "list_reply") or not isinstance(reply, dict):
        return Unsupported("other")
    data = str(reply.get("id", ""))
    if data == CONTACT_ID:
        # "Use my number": WhatsApp already knows it; the sender shares their own.
        return ContactShared("+" + sender_id.lstrip("+"), sender_id.lstrip("+"), name)
    if data.startswith(KEY_PREFIX):
        return Text(data.removeprefix(KEY_PREFIX))
    return ButtonPress(data, _context(message))


def _context(message: dict[str, Any]) -> str | None:
    context = message.get("context")
    found = context.get("id") if isinstance(context, dict) else None
    return found if isinstance(found, str) else None


def _contact(message: dict[str, Any]) -> Payload:
    cards = _list(message.get("contacts"))
    phones = _list(cards[0].get("phones")) if cards else []
    if not phones or not isinstance(phones[0].get("phone"), str):
        return Unsupported("other")
    phone = phones[0]
    owner = phone.get("wa_id")
    names = cards[0].get("name")
    first = None
    if isinstance(names, dict):
        first = names.get("first_name") or names.get("formatted_name")
    return ContactShared(
        phone["phone"],
        owner if isinstance(owner, str) else None,
        first if isinstance(first, str) else None,
    )
