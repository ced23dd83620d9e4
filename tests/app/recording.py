"""A recording channel: the whole test double the core needs (no Telegram, no network)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from app.core import Core
from app.locks import LocalLocks
from app.ports import Capabilities, DeliveryError, Progress, Removal, Sent
from conversations.events import Address, Inbound
from conversations.outbound import Document, Outbound
from storage.database import Database
from storage.sessions import SessionStore

CAPABILITIES = Capabilities(
    edits=True,
    delete_window=None,
    buttons_per_message=10,
    button_label=64,
    list_rows=0,
    text_limit=4096,
    caption_limit=1024,
    formatting="html",
)


@dataclass
class RecordingChannel:
    """Keeps what the core sent, per chat, and can be told to fail the next send."""

    name: str = "telegram"
    capabilities: Capabilities = CAPABILITIES
    sent: list[tuple[Address, Outbound | Document]] = field(default_factory=list)
    deleted: list[tuple[Address, str]] = field(default_factory=list)
    acknowledged: list[tuple[str, str | None]] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)
    admins: frozenset[str] = frozenset()
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(
        self, chat: Address, message: Outbound, *, progress: Progress | None = None
    ) -> Sent:
        """Record ``message``; a pin gets an id of its own; parts in ``progress`` stay sent."""
        if self.failures:
            raise self.failures.pop(0)
        done = progress.sent if progress is not None else Sent(None)
        text_id = done.message_id
        if text_id is None:
            self.sent.append((chat, message))
            text_id = message.replaces or str(next(self._ids))
        pin_id = done.pin_id
        if message.location and pin_id is None:
            pin_id = str(next(self._ids))
        return Sent(text_id, pin_id, done.copies)

    async def send_document(self, chat: Address, document: Document) -> Sent:
        """Record ``document``."""
        self.sent.append((chat, document))
        return Sent(str(next(self._ids)))

    async def delete(self, chat: Address, message_id: str) -> Removal:
        """Record the deletion."""
        self.deleted.append((chat, message_id))
        return Removal.DELETED

    async def replace_text(self, chat: Address, message_id: str, text: str) -> bool:
        """Record the replacement as a message that replaces the old one."""
        self.sent.append((chat, Outbound(text, replaces=message_id)))
        return True

    async def acknowledge(self, event: Inbound, toast: str | None) -> None:
        """Record the acknowledgement of a press."""
        self.acknowledged.append((event.receipt or "", toast))

    async def administrators(self, chat: Address) -> frozenset[str]:
        """Nobody administers the recorded chats unless a test says so."""
        return self.admins

    def texts(self, chat: Address) -> list[str]:
        """Every text sent to ``chat``, in order."""
        return [m.text for to, m in self.sent if to == chat and isinstance(m, Outbound)]


@asynccontextmanager
async def recording_core(
    db: Database, channel: RecordingChannel | None = None, **options: Any
) -> AsyncIterator[Core]:
    """A core on ``db`` whose one channel records what it is asked to do (``options``: Core's)."""
    sessions = SessionStore(db)
    await sessions.start()
    try:
        yield Core(
            db=db,
            sessions=sessions,
            channels={"telegram": channel or RecordingChannel()},
            lock=LocalLocks(),
            **options,
        )
    finally:
        await sessions.close()
