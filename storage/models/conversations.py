"""The conversations' tables: where a person is in one, and threads with the operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from storage.crypto import EncryptedJSON
from storage.models.columns import _when


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
