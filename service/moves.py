"""Chats that moved (Telegram: a group upgraded to a supergroup), followed by the core.

The move itself is kept by ``storage/chat_moves.py`` (the delivery worker records it when the
channel says so). Here the core is told: the operators' chat is addressed at its new id, for
notices and for recognising updates from it, and the log says once that
``MISTRI_ADMIN_CHAT_ID`` should name the new id (a group's id is not personal data).
"""

from __future__ import annotations

import logging

from app.core import Core
from conversations.events import Address
from storage import chat_moves

log = logging.getLogger(__name__)


async def follow_moves(core: Core) -> None:
    """At start-up: address chats that moved (kept in the database) where they are now."""
    async with core.db.read() as tx:
        found = await chat_moves.moves(tx)
    for old, new in found.items():
        announce(core, old, new, set())


def announce(core: Core, old: Address, new: Address, warned: set[Address]) -> None:
    """Follow ``old`` to ``new`` in the core; warn once (per ``warned``) for the operators'."""
    if core.chat_moved(old, new) and old not in warned:
        warned.add(old)
        log.warning(
            "the operators' chat %s was upgraded to a supergroup and is now %s:"
            " set MISTRI_ADMIN_CHAT_ID=%s",
            old.id,
            new.id,
            new.id,
        )
