"""The booking's tables: customers, technicians, orders, job offers and the views of a job."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, LargeBinary, String, text
from sqlmodel import Field, SQLModel

from storage.models.columns import _secret, _secret_float, _when


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
