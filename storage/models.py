"""The schema: customers, technicians, orders, job offers, sessions, audit log, metadata.

Every column that holds something a person typed or that identifies them (name, phone,
address, location, problem text, conversation answers) is encrypted at rest; phone lookups go
through a keyed blind index.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Index, LargeBinary, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.crypto import EncryptedFloat, EncryptedJSON, EncryptedText


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


def _secret(purpose: str) -> Any:
    return Field(default=None, sa_column=Column(EncryptedText(purpose), nullable=True))


def _secret_float(purpose: str) -> Any:
    return Field(default=None, sa_column=Column(EncryptedFloat(purpose), nullable=True))


class OrderStatus(StrEnum):
    """Where an order stands."""

    NEW = "new"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    ON_THE_WAY = "on_the_way"
    DONE = "done"
    CANCELLED = "cancelled"


#: The jobs a technician still has to do, as the partial index ``ix_orders_open_jobs`` names
#: them (a query must write them out the same way for SQLite to use it).
OPEN_JOBS_WHERE = "status IN ('assigned', 'on_the_way')"


class OfferStatus(StrEnum):
    """What became of a job offer to one technician."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class Customer(SQLModel, table=True):
    """A person who books: who they are on their channel, saved details and consent."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_channel_external_id", "channel", "external_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The channel the person books on (``telegram``, ``whatsapp``) and their id there.
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    lang: str = Field(default="bn", max_length=8)
    name: str | None = _secret("customers.name")
    phone: str | None = _secret("customers.phone")
    phone_index: bytes | None = Field(default=None, sa_type=LargeBinary, index=True)
    address: str | None = _secret("customers.address")
    latitude: float | None = _secret_float("customers.latitude")
    longitude: float | None = _secret_float("customers.longitude")
    consent_version: str | None = Field(default=None, max_length=32)
    consent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Technician(SQLModel, table=True):
    """An approved technician: what they do, where, and how to reach them."""

    __tablename__ = "technicians"
    __table_args__ = (
        # Matching reads who can take a job from this index alone (no encrypted fields).
        Index("ix_technicians_matching", "status", "active", "available", "services", "areas"),
        Index("ix_technicians_channel_external_id", "channel", "external_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: Where the technician is reached, and their id there (None once they left: no one).
    channel: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=64)
    name: str | None = _secret("technicians.name")
    phone: str | None = _secret("technicians.phone")
    phone_index: bytes | None = Field(default=None, sa_type=LargeBinary, index=True)
    #: Comma-separated service slugs.
    services: str = Field(max_length=256)
    #: Comma-separated area slugs, or ``all``.
    areas: str = Field(max_length=2048)
    active: bool = Field(default=True)
    #: Where the technician's application stands (the CLI registers them approved).
    status: str = Field(default="approved", max_length=16, index=True)
    #: ``/away`` sets it false: no offers until ``/available``.
    available: bool = Field(default=True)
    #: The technician's base, when they shared a pin (ranks by distance to the order).
    base_latitude: float | None = _secret_float("technicians.base_latitude")
    base_longitude: float | None = _secret_float("technicians.base_longitude")
    lang: str = Field(default="bn", max_length=8)
    created_at: datetime = _when()

    def offers_service(self, slug: str) -> bool:
        """Tell whether the technician does service ``slug``."""
        return slug in self.services.split(",")

    def covers_area(self, slug: str) -> bool:
        """Tell whether the technician works in area ``slug`` (``all`` covers every area)."""
        areas = self.areas.split(",")
        return "all" in areas or slug in areas


class Order(SQLModel, table=True):
    """A booked job."""

    __tablename__ = "orders"
    __table_args__ = (
        # A technician's open jobs and average rating from the index alone (matching, the
        # operators' list of technicians).
        Index("ix_orders_technician_status_rating", "technician_id", "status", "rating"),
        # Only the jobs under way: what matching counts for each candidate, in a small index.
        Index(
            "ix_orders_open_jobs",
            "technician_id",
            "status",
            sqlite_where=text(OPEN_JOBS_WHERE),
            postgresql_where=text(OPEN_JOBS_WHERE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=16)
    #: The booking conversation that produced the order: confirming twice stores it once.
    draft_id: str = Field(unique=True, max_length=32)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    lang: str = Field(default="bn", max_length=8)
    service: str = Field(max_length=32, index=True)
    area: str = Field(max_length=32, index=True)
    area_other: str | None = _secret("orders.area_other")
    address: str | None = _secret("orders.address")
    latitude: float | None = _secret_float("orders.latitude")
    longitude: float | None = _secret_float("orders.longitude")
    phone: str | None = _secret("orders.phone")
    name: str | None = _secret("orders.name")
    problem: str | None = _secret("orders.problem")
    visit_date: date
    visit_part: str = Field(max_length=16)
    status: OrderStatus = Field(default=OrderStatus.NEW, sa_type=String(16), index=True)
    technician_id: int | None = Field(default=None, foreign_key="technicians.id", index=True)
    #: The customer's 1–5 rating after the job is done, and what they added.
    rating: int | None = None
    rating_comment: str | None = _secret("orders.rating_comment")
    #: Why the job was cancelled (a reason key such as ``customer`` or ``technician:no_parts``).
    cancel_reason: str | None = Field(default=None, max_length=64)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class JobOffer(SQLModel, table=True):
    """An offer of one order to one technician, and the message that carried it."""

    __tablename__ = "job_offers"
    # Matching's "when was this technician last offered a job", from the index alone.
    __table_args__ = (Index("ix_job_offers_technician_created", "technician_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    technician_id: int = Field(foreign_key="technicians.id", index=True)
    status: OfferStatus = Field(default=OfferStatus.PENDING, sa_type=String(16))
    #: The technician's chat (None once they left) and the notice's message there.
    channel: str = Field(max_length=16)
    chat_id: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=64)
    #: After Accept: the message with the customer's contact, and its location pin (erased
    #: customers' contacts are deleted from the technician's chat through these).
    contact_message_id: str | None = Field(default=None, max_length=64)
    location_message_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _when()
    #: When silence counts as a decline (a row, not a timer: it survives restarts).
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)
    answered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class JobView(SQLModel, table=True):
    """A later message in a technician's chat that shows an accepted job's contact again.

    A ``/jobs`` answer, or the notice of a customer's corrected contact. Erasing the customer
    deletes these from the chat as it does the offer's notice and contact message; the chat is
    the offer's, so it is not stored twice.
    """

    __tablename__ = "job_views"

    offer_id: int = Field(foreign_key="job_offers.id", primary_key=True, ondelete="CASCADE")
    message_id: str = Field(primary_key=True, max_length=64)


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


class ConversationSession(SQLModel, table=True):
    """Where a person is in a conversation; written at every step."""

    __tablename__ = "conversation_sessions"

    #: Whose conversation: the person's channel and their id there.
    channel: str = Field(primary_key=True, max_length=16)
    person_id: str = Field(primary_key=True, max_length=64)
    lang: str | None = Field(default=None, max_length=8)
    flow: str = Field(default="idle", max_length=32)
    step: str = Field(default="", max_length=32)
    data: dict[str, Any] | None = Field(
        default=None, sa_column=Column(EncryptedJSON("conversation_sessions.data"), nullable=True)
    )
    updated_at: datetime = _when()


class AuditEvent(SQLModel, table=True):
    """A data-rights action (export, correction, erasure), without personal data.

    ``subject`` is an opaque reference (``customer:12``, ``technician:3`` or a random token),
    never a channel id, phone or name; see :mod:`storage.audit`.
    """

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when()
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=16)
    #: Which operator acted (``telegram:<user id>``): staff are accountable by name.
    actor_ref: str | None = Field(default=None, max_length=64)
    subject: str = Field(max_length=64)
    detail: str | None = Field(default=None, max_length=64)


class Meta(SQLModel, table=True):
    """Small facts about the database itself (such as the key check value)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=64)
    value: bytes = Field(sa_type=LargeBinary)


class HandoffThread(SQLModel, table=True):
    """A customer's conversation with the operators ("Talk to a person"), open or closed.

    What the customer typed is not kept here: it goes to the operators' chat through the
    outbox (whose body is dropped once sent). The thread keeps who it is with, their
    language and the references of their open orders when it began (shown to the operators).
    """

    __tablename__ = "handoff_threads"
    __table_args__ = (Index("ix_handoff_threads_person", "channel", "person_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The customer: their channel and their id there (their chat, where answers go).
    channel: str = Field(max_length=16)
    person_id: str = Field(max_length=64)
    lang: str = Field(default="bn", max_length=8)
    #: ``open`` or ``closed``.
    status: str = Field(default="open", max_length=16)
    #: The references of the customer's open orders when it began, comma-separated.
    references: str | None = Field(default=None, max_length=128)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class HandoffMessage(SQLModel, table=True):
    """A thread's message in the operators' chat: a reply to it answers the customer.

    Written with the outbox row that carries it; the delivery records the message's id (and
    copies an attempt of unknown outcome left), so erasure deletes them from the chat.
    """

    __tablename__ = "handoff_messages"
    __table_args__ = (
        Index("ix_handoff_messages_chat_message", "channel", "chat_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="handoff_threads.id", index=True, ondelete="CASCADE")
    outbox_id: int | None = Field(default=None, index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    message_id: str | None = Field(default=None, max_length=64)
    copies: str | None = Field(default=None, max_length=255)
