"""Who may act in the operators' chat: the ids configured, or else the chat's administrators.

Membership of the chat is not enough: anyone added to the group could otherwise approve
applications (their own too), assign jobs and erase people by phone. The administrators are
asked of the channel and kept for a minute, so a removed administrator loses the right soon
and a busy chat does not ask at every press; someone not on the list kept makes it be asked
again (at most every few seconds), so a newly made administrator is let in at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.ports import Channel, DeliveryError
from conversations.events import Address

log = logging.getLogger(__name__)

#: How long the chat's administrators are kept before they are asked again, in seconds.
ADMINISTRATORS_TTL = 60.0
#: The shortest time between two askings, when someone not on the list tries to act.
REFRESH_AFTER = 5.0


class Authority:
    """Decides whether a person may act in the operators' chat."""

    def __init__(
        self,
        ids: frozenset[str] | None = None,
        *,
        ttl: float = ADMINISTRATORS_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``ids``: the operators configured (``MISTRI_OPERATOR_IDS``); None: ask the chat."""
        self._ids = ids
        self._ttl = ttl
        self._clock = clock
        #: Per chat: when the administrators were read, and who they were.
        self._known: dict[Address, tuple[float, frozenset[str]]] = {}

    async def may_act(self, channel: Channel, operators: Address, person: Address) -> bool:
        """Tell whether ``person`` may act in the operators' chat ``operators``."""
        if person.channel != operators.channel:
            return False
        if person == operators:
            return True  # the operators' chat is this person's own private chat
        if self._ids is not None:
            return person.id in self._ids
        if person.id in await self._administrators(channel, operators, self._ttl):
            return True
        # Perhaps made an administrator since the list was read: read it again, not too often.
        return person.id in await self._administrators(channel, operators, REFRESH_AFTER)

    async def _administrators(
        self, channel: Channel, chat: Address, max_age: float
    ) -> frozenset[str]:
        now = self._clock()
        known = self._known.get(chat)
        if known is not None and now - known[0] < max_age:
            return known[1]
        try:
            found = await channel.administrators(chat)
        except DeliveryError as error:
            # Nobody is let in on a guess; the last known list serves until the chat answers.
            log.warning("the operators' chat's administrators could not be read: %s", error)
            return known[1] if known is not None else frozenset()
        self._known[chat] = (now, found)
        return found
