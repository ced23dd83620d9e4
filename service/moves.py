"""Chats that moved (Telegram: a group upgraded to a supergroup), followed by the core.

The move itself is kept by ``storage/chat_moves.py``: the delivery worker has it recorded
(:func:`follow`) when the channel says so, and the chat's pending notices follow it. Here the
core is told: the operators' chat is addressed at its new id, for notices and for
recognising updates from it, and the log says once that ``MISTRI_ADMIN_CHAT_ID`` should name
the new id (a group's id is not personal data).
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


async def follow(core: Core, old: Address, new: Address, warned: set[Address]) -> None:
    """The chat moved: keep where, have its pending notices follow, address the core there."""
    async with core.db.transaction() as tx:
        moved, dropped = await chat_moves.record(tx, old=old, new=new)
    announce(core, old, new, warned)
    log.info("outbox: %d notices follow the chat that moved", moved)
    if dropped:
        # The bot cannot reach the old group any more: only a person can delete them.
        log.warning(
            "outbox: %d withdrawals name messages left in the old group's history;"
            " delete them there by hand",
            dropped,
        )
