"""Records about the data rather than the service: the audit log and the database's facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from storage.models.columns import _when


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
