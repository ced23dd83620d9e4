"""Taking back a notice that went out for someone erased while it was on its way.

The delivery worker sends a row, then finds its record changes nothing: the row was erased
with its customer (or technician) in flight. What reached the chat goes the same way:
deleted, or its text redacted where the channel keeps the message.
"""

from __future__ import annotations

import contextlib
import logging

from app.ports import Channel, DeliveryError, Sent
from storage import outbox

log = logging.getLogger(__name__)

#: What a withdrawn message says when it cannot be deleted (it held an erased person's data).
REDACTED = "—"


async def take_back(channel: Channel, row: outbox.Pending, sent: Sent) -> None:
    """Delete what ``row`` put in its chat (the pin, the text, copies); redact what stays."""
    for message_id in (sent.pin_id, sent.message_id, *sent.copies):
        if message_id is None:
            continue
        try:
            await channel.delete(row.chat, message_id)
        except DeliveryError:
            if message_id != sent.pin_id:
                with contextlib.suppress(DeliveryError):
                    await channel.replace_text(row.chat, message_id, REDACTED)
    log.info("outbox %d: withdrawn, its person was erased in the meantime", row.id)


def carries_data(row: outbox.Pending) -> bool:
    """Whether the notice carries a customer's or technician's data (erasure takes it back)."""
    return row.customer_id is not None or row.technician_id is not None
