"""The tables of work waiting for a worker: the outbox, the inbox and the leases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.crypto import EncryptedJSON
from storage.models.columns import _when


class OutboxStatus(StrEnum):
    """Where an outgoing notice stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


class OutboxMessage(SQLModel, table=True):
    """A notice that matters, written in the same transaction as the change that causes it.

    The delivery worker sends pending rows in order and records the outcome; after a crash,
    whatever was committed and not yet sent goes out on restart.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The delivery worker's question: what is pending and due, oldest first.
        Index("ix_outbox_pending_due", "status", "due_at"),
        # Erasure's: every notice to a chat.
        Index("ix_outbox_channel_chat_id", "channel", "chat_id"),
        # Ids are never used twice (SQLite would reuse the highest one after a delete): the
        # worker marks a row sent by its id, and an erased row's id must not come back on a
        # new notice while the old one is in flight.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The chat it goes to: a channel and its id there.
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    #: offer, contact, status, escalation, notice (what kind of notice; for reports and rules).
    kind: str = Field(max_length=16)
    #: The message itself (text, buttons, edit target, pin): personal, so encrypted.
    body: dict[str, Any] | None = Field(
        default=None, sa_column=Column(EncryptedJSON("outbox.body"), nullable=True)
    )
    offer_id: int | None = Field(default=None, foreign_key="job_offers.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    #: Whose personal data the body carries, if anyone's (erasure removes pending ones).
    customer_id: int | None = Field(default=None, index=True)
    #: The technician whose data the body carries (an application to the operators).
    technician_id: int | None = Field(default=None, index=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    #: When to (re)try: now for a new row, later after a 429 or a network error.
    due_at: datetime = _when()
    created_at: datetime = _when()
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    message_id: str | None = Field(default=None, max_length=64)
    #: The pin sent after the text, when the notice has one (deleted with it on erasure).
    location_message_id: str | None = Field(default=None, max_length=64)
    #: Each part is a step: the ids above are set as each part goes out, even while the row
    #: is still pending (a retry sends only the rest). ``unsure``: how many attempts at the
    #: next part ended without knowing whether it arrived; ``unsure_since``: where the
    #: channel may look for what they left (its own mark: for Telegram the highest message id
    #: known before the first of them, and the process life that knew it); ``copies``: the
    #: ids (space separated) of copies of the text such attempts left, found afterwards.
    unsure: int = Field(default=0)
    unsure_since: str | None = Field(default=None, max_length=64)
    copies: str | None = Field(default=None, max_length=255)
    #: Which worker is sending the row and until when (several ``serve`` workers on one
    #: database): another worker takes it only once the lease has run out (its holder died).
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class InboxState(StrEnum):
    """Where a received update stands."""

    PENDING = "pending"
    DONE = "done"


class InboxUpdate(SQLModel, table=True):
    """An update received by webhook, stored before the 200 and handled from here.

    A crash after the 200 loses nothing (pending rows are handled at start-up), and the
    channel's own id, unique per channel, makes a redelivery a no-op. Once handled the row
    keeps only that id and its times (until it is purged), for the duplicates that come late.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbox_channel_external_id"),
        # What is pending, in arrival order.
        Index("ix_inbox_state_id", "state", "id"),
        # A person's earlier updates still pending: theirs are handled in arrival order.
        Index("ix_inbox_person", "channel", "person_id", "id"),
        # Arrival order is the id: never reused (SQLite would reuse the highest after a purge).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    #: The channel's id of the update (WhatsApp: the message id, ``wamid....``).
    external_id: str = Field(max_length=255)
    #: Who sent it (the id within the channel); cleared once handled.
    person_id: str | None = Field(default=None, max_length=64)
    #: The update as received (the channel's JSON, so parsing may improve later): the
    #: customer's words, so encrypted; cleared once handled.
    body: dict[str, Any] | None = Field(
        default=None, sa_column=Column(EncryptedJSON("inbox.body"), nullable=True)
    )
    received_at: datetime = _when()
    state: str = Field(default=InboxState.PENDING, max_length=16)
    attempts: int = Field(default=0)
    done_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: Which worker is handling it and until when: a worker killed in the middle leaves it
    #: to another once the lease has run out.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Lease(SQLModel, table=True):
    """A job one worker at a time does (retention, the offers' clock): who, and until when."""

    __tablename__ = "leases"

    #: The job ("retention", "offers", ...).
    job: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    until: datetime = Field(sa_type=DateTime(timezone=True))
