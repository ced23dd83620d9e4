"""The outbox's outcomes: the writes that record what became of an attempt to send a notice.

A notice in several parts (a text and its pin) records each part's id as it goes out, while
the row is still pending: a retry sends only the rest, and erasure finds what is already in
the chat (:func:`storage.outbox.sent_about` reads every row that holds an id, whatever its
status). Sent, retried later, given up: each is a list of writes the delivery worker runs in
one transaction (under its claim when several workers share the outbox,
:mod:`storage.outbox_claims`), the row's own write first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, exists, update

from storage.database import Tx, Write
from storage.models import JobOffer, OutboxMessage, OutboxStatus, utcnow

_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]

# Built once and run with fresh parameters: SQLAlchemy then finds the compiled SQL in its
# cache instead of rebuilding the statement for every outcome.
_MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"))
    .values(
        status=bindparam("sent"),
        sent_at=bindparam("sent_at"),
        message_id=bindparam("message_id"),
        location_message_id=bindparam("location_message_id"),
        copies=bindparam("copies"),
        unsure=0,
        unsure_since=None,
        attempts=_outbox.c.attempts + 1,
        body=None,
    )
)
# What went out before a failure, kept on the row while it waits for its retry.
_PROGRESS = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"))
    .where(_outbox.c.status == bindparam("pending"))
    .values(
        message_id=bindparam("message_id"),
        location_message_id=bindparam("location_message_id"),
        copies=bindparam("copies"),
        unsure=bindparam("unsure"),
        unsure_since=bindparam("unsure_since"),
    )
)
_RETRY = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"))
    .values(due_at=bindparam("due_at"), attempts=_outbox.c.attempts + 1)
)
_GIVE_UP = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"))
    .values(status=bindparam("status"), attempts=_outbox.c.attempts + 1)
)
_OFFER_MESSAGE = (
    update(_offers)
    .where(_offers.c.id == bindparam("offer_id"))
    .values(message_id=bindparam("message_id"))
)
_CONTACT_MESSAGES = (
    update(_offers)
    .where(_offers.c.id == bindparam("offer_id"))
    .where(exists().where(_outbox.c.id == bindparam("outbox_id")))
    .values(
        contact_message_id=bindparam("contact_id"),
        location_message_id=bindparam("location_id"),
    )
)
_PENDING = str(OutboxStatus.PENDING)


def _joined(copies: Sequence[str]) -> str | None:
    return " ".join(copies) if copies else None


def sent(
    *,
    outbox_id: int,
    message_id: str | None,
    location_message_id: str | None = None,
    offer_id: int | None = None,
    contact_offer_id: int | None = None,
    copies: Sequence[str] = (),
) -> list[Write]:
    """The writes that record a delivered notice; the first changes no row if it is gone.

    A row is gone when it was erased with its customer while in flight. For an offer's
    notice (``offer_id``) the offer learns which message carries it; for a contact
    (``contact_offer_id``) the offer learns where the contact and pin are, for erasure to
    find them, unless the row is gone. ``copies``: copies of the text that attempts of
    unknown outcome left (kept on the row; the caller records where else they matter).

    The text is dropped once sent: the chat has it, and a stored copy of a customer's contact
    would be one more place to protect and erase.
    """
    writes: list[Write] = [
        (
            _MARK_SENT,
            {
                "outbox_id": outbox_id,
                "sent": str(OutboxStatus.SENT),
                "sent_at": utcnow(),
                "message_id": message_id,
                "location_message_id": location_message_id,
                "copies": _joined(copies),
            },
        )
    ]
    return writes + _where_found(
        outbox_id, message_id, location_message_id, offer_id, contact_offer_id
    )


def progress(
    *,
    outbox_id: int,
    message_id: str | None,
    location_message_id: str | None,
    copies: Sequence[str],
    unsure: int,
    unsure_since: str | None = None,
    offer_id: int | None = None,
    contact_offer_id: int | None = None,
) -> list[Write]:
    """The writes that keep what went out of a notice still pending (before its retry).

    As :func:`sent`, the first changes no row if the row is gone (erased in flight), and the
    offer learns where its notice or contact is as soon as a part of it is in the chat.
    ``unsure_since``: the channel's mark of where to look for what the ``unsure`` attempts
    left (kept across restarts; the channel decides whether it still holds).
    """
    writes: list[Write] = [
        (
            _PROGRESS,
            {
                "outbox_id": outbox_id,
                "pending": _PENDING,
                "message_id": message_id,
                "location_message_id": location_message_id,
                "copies": _joined(copies),
                "unsure": unsure,
                "unsure_since": unsure_since if unsure else None,
            },
        )
    ]
    if message_id is None and location_message_id is None:
        return writes
    return writes + _where_found(
        outbox_id, message_id, location_message_id, offer_id, contact_offer_id
    )


def retried(*, outbox_id: int, due_at: datetime) -> list[Write]:
    """The write that makes a notice wait until ``due_at`` (a 429, a network error)."""
    return [(_RETRY, {"outbox_id": outbox_id, "due_at": due_at})]


def given_up(*, outbox_id: int, status: OutboxStatus) -> list[Write]:
    """The write that records a notice will not be sent (unreachable, refused)."""
    return [(_GIVE_UP, {"outbox_id": outbox_id, "status": str(status)})]


def _where_found(
    outbox_id: int,
    message_id: str | None,
    location_message_id: str | None,
    offer_id: int | None,
    contact_offer_id: int | None,
) -> list[Write]:
    """Where the offer keeps the ids of its notice or of its contact message and pin."""
    writes: list[Write] = []
    if offer_id is not None:
        writes.append((_OFFER_MESSAGE, {"offer_id": offer_id, "message_id": message_id}))
    if contact_offer_id is not None:
        contact = {
            "offer_id": contact_offer_id,
            "outbox_id": outbox_id,
            "contact_id": message_id,
            "location_id": location_message_id,
        }
        writes.append((_CONTACT_MESSAGES, contact))
    return writes


async def retry_later(tx: Tx, *, outbox_id: int, due_at: datetime) -> None:
    """Try a notice again at ``due_at`` (after a 429 or a network error)."""
    await tx.execute(_RETRY, {"outbox_id": outbox_id, "due_at": due_at})
