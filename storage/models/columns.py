"""The columns every model builds on: timestamps in UTC, and encrypted personal fields.

A column that holds something a person typed or that identifies them is declared through
:func:`_secret` or :func:`_secret_float`: encrypted at rest, the column's name bound to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlmodel import Field

from storage.crypto import EncryptedFloat, EncryptedText


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


def _secret(purpose: str) -> Any:
    return Field(default=None, sa_column=Column(EncryptedText(purpose), nullable=True))


def _secret_float(purpose: str) -> Any:
    return Field(default=None, sa_column=Column(EncryptedFloat(purpose), nullable=True))
