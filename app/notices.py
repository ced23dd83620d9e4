"""Notices to people other than the sender, and messages taken back: rows, never calls.

A notice (an offer, a contact, "who is coming") is written to the outbox in the transaction
of the change that causes it, and the delivery worker sends it. Taking messages back (a
customer erased: their contact leaves technicians' chats) is a row too, a
:class:`Withdrawal`: which messages to delete and, where the channel keeps one (Telegram,
past 48 hours), the text that replaces it. A crash between the change and the sending loses
neither.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from app.ports import Channel, DeliveryError, Removal
from conversations.events import Address
from conversations.outbound import Outbound, to_json
from storage import outbox
from storage.database import Tx

log = logging.getLogger(__name__)

#: What a notice is for, where it matters (conversations.outbound.Outbound.purpose).
JOB_OFFER = "job_offer"
JOB_UPDATE = "job_update"
REMINDER = "reminder"


async def notify(
    tx: Tx,
    to: Address,
    message: Outbound,
    *,
    kind: str = "status",
    offer_id: int | None = None,
    order_id: int | None = None,
    customer_id: int | None = None,
    technician_id: int | None = None,
    purpose: str | None = None,
) -> int:
    """Queue ``message`` for ``to`` in ``tx``; return the outbox row's id.

    ``customer_id`` or ``technician_id`` names whose personal data the message carries, so
    erasing them removes it while it waits. ``purpose`` (``job_offer``, ``job_update``,
    ``reminder``) says what the notice is for: where a channel may only send an approved
    template (WhatsApp, 24 hours after the person last wrote), it picks the one for it.
    """
    if purpose is not None:
        message = replace(message, purpose=purpose)
    return await outbox.enqueue(
        tx,
        to=to,
        kind=kind,
        body=to_json(message),
        offer_id=offer_id,
        order_id=order_id,
        customer_id=customer_id,
        technician_id=technician_id,
    )


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """Messages to take back from one chat.

    Each of ``messages`` is deleted; where the channel keeps one, ``text`` replaces it. The
    pin (``pin``), which has no text to replace, is deleted first; if it stays, the first
    replacement says so (``text_pin_left``), or a new message does.
    """

    messages: tuple[str, ...]
    text: str
    pin: str | None = None
    text_pin_left: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the row's body."""
        return {
            "messages": list(self.messages),
            "text": self.text,
            "pin": self.pin,
            "text_pin_left": self.text_pin_left,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Withdrawal:
        """Read a row's body back."""
        return cls(
            messages=tuple(str(message) for message in body["messages"]),
            text=str(body["text"]),
            pin=None if body.get("pin") is None else str(body["pin"]),
            text_pin_left=body.get("text_pin_left"),
        )


async def withdraw(tx: Tx, chat: Address, withdrawal: Withdrawal) -> int:
    """Queue ``withdrawal`` of messages in ``chat``, in ``tx``; return the row's id."""
    return await outbox.enqueue(tx, to=chat, kind=outbox.WITHDRAW, body=withdrawal.to_json())


async def carry_out(channel: Channel, chat: Address, withdrawal: Withdrawal) -> dict[Removal, int]:
    """Delete what ``withdrawal`` names (replacing what stays); return counts by outcome."""
    counts = dict.fromkeys(Removal, 0)
    pin_left = False
    if withdrawal.pin is not None:
        removal = await _delete(channel, chat, withdrawal.pin)
        counts[removal] += 1
        # A pin has no text to replace: the technician is asked to delete it.
        pin_left = removal is Removal.REFUSED and withdrawal.text_pin_left is not None
    for message_id in withdrawal.messages:
        removal = await _delete(channel, chat, message_id)
        counts[removal] += 1
        if removal is Removal.REFUSED:
            text = withdrawal.text_pin_left if pin_left else withdrawal.text
            replaced = await _replace(channel, chat, message_id, text or withdrawal.text)
            pin_left = pin_left and not replaced  # the hint is given once
    if pin_left and withdrawal.text_pin_left is not None:
        try:
            await channel.send(chat, Outbound(withdrawal.text_pin_left))
        except DeliveryError as error:
            log.warning("the note about a pin left behind was not sent: %s", error)
    return counts


async def _delete(channel: Channel, chat: Address, message_id: str) -> Removal:
    try:
        return await channel.delete(chat, message_id)
    except DeliveryError as error:  # one message that cannot go must not stop the others
        log.warning("deleting a message failed: %s", error)
        return Removal.FAILED


async def _replace(channel: Channel, chat: Address, message_id: str, text: str) -> bool:
    try:
        return await channel.replace_text(chat, message_id, text)
    except DeliveryError as error:
        log.warning("replacing a message failed: %s", error)
        return False
