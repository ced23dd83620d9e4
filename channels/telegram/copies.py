"""Copies of a message left by an attempt whose outcome was unknown, found with the Bot API.

A ``sendMessage`` that timed out after the request went out, or that Telegram answered with a
server error, may still have delivered the message. Telegram has no idempotency key and no
way to read a chat, so the retry sends it again; once it is in, with id ``N``, ids below ``N``
are asked to take exactly the same text and buttons (``editMessageText``). Telegram answers
"message is not modified" only for a message of the bot that already shows exactly that: a
copy, then recorded with the message (erasure deletes it, the end of an offer edits it).

The probe changes nothing it lands on, because it is only ever sent where it can land on a
copy, on someone else's message ("message can't be edited") or on an id that is not in this
chat ("message to edit not found") — never on another message of the bot, which would take
the text. That rests on knowing every message of the bot between two ids:

- **The floor.** Before each attempt that adds a message, the highest id seen so far in the
  counter the chat's ids come from is noted (:meth:`Ledger.mark`); a copy can only be above
  it. Private chats and basic groups share one counter, the bot's own; a supergroup counts
  its own. Seen: the answers to the bot's own sends and the messages that come in.
- **Known ids are skipped.** Between the floor and ``N``, the ids of the bot's own sends (to
  any chat sharing the counter) and of messages that came in are never probed; the others
  are, oldest first (a copy went out just after its floor was noted), at most
  :data:`PROBE_LIMIT`, until as many copies are found as there were unsure attempts.
- **Nothing of the bot's is unknown there.** A floor holds only in the life of the process
  that noted it (a token goes with it, stored with the row: after a restart no probe runs),
  and only once an own send started after this life began was answered (the messages of an
  earlier life are all below that). In the chat, a send of this life still in flight, or one
  with other content whose own outcome was unknown, stops the probe until a later send has
  shown that its message, if any, lies below the floor. What was forgotten to keep memory
  bounded stops it too. Without a floor no probe runs.

Two assumptions remain (``docs/privacy.md``): Telegram carries out a request within
``settle`` seconds after the bot gave up on it, or never; and no other process sends as this
bot (``# multi-worker:`` in ``channel.py`` and ``service/runtime.py``).
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from telegram.error import BadRequest, TelegramError

from channels.telegram.bot import JSONDict, MistriBot

log = logging.getLogger(__name__)

#: The most ids probed for the copies of one message.
PROBE_LIMIT = 16
#: Chat ids below this are supergroups and channels (``-100…``): each counts its own ids.
SUPERGROUP_IDS = -1_000_000_000_000
#: How many known ids are kept: for the bot's shared counter, and for each supergroup.
KEPT_IDS = 16_384
KEPT_GROUP_IDS = 1_024
#: How many supergroups' counters are kept, and attempts of unknown outcome per counter.
KEPT_GROUPS = 256
KEPT_ATTEMPTS = 256
#: Seconds within which Telegram carries out a request the bot gave up on, or never.
SETTLE = 60.0


@dataclass(eq=False, slots=True)
class Attempt:
    """A request that adds a message: in flight, or ended without knowing whether it did."""

    counter: _Counter
    chat_id: int
    started: float
    started_tick: int
    #: What its message shows (:func:`content`), once it ended unsure; None: no text.
    shows: int | None = None
    ended: float = 0.0
    ended_tick: int = 0
    #: An id its message (if any) is known to be below: answered to a later request.
    bound: int | None = None


class _Counter:
    """What is known of one counter of message ids (bounded)."""

    def __init__(self, token: str, born: float, born_tick: int, kept: int) -> None:
        self.token = token
        #: Anchored (floors given) once a send started ``settle`` after ``born`` is answered.
        self.born, self.born_tick = born, born_tick
        self.anchored = False
        self.high: int | None = None  # the highest id seen
        self.lost = 0  # floors below this cannot be trusted: what was there is forgotten
        self.flying: set[Attempt] = set()
        self.unsure: list[Attempt] = []  # oldest first
        self._order: deque[int] = deque()
        self._ids: set[int] = set()
        self._kept = kept

    def know(self, message_id: int) -> None:
        if message_id not in self._ids:
            if len(self._order) >= self._kept:
                old = self._order.popleft()
                self._ids.discard(old)
                self.lost = max(self.lost, old)
            self._order.append(message_id)
            self._ids.add(message_id)
        self.raise_high(message_id)

    def raise_high(self, message_id: int) -> None:
        if self.high is None or message_id > self.high:
            self.high = message_id

    def knows(self, message_id: int) -> bool:
        return message_id in self._ids

    @property
    def idle(self) -> bool:
        return not self.flying and not self.unsure


def content(text: str, markup: JSONDict | None) -> int:
    """A key for what a message shows, as a probe compares it (its text and its buttons)."""
    return hash((text, repr(markup)))


class Ledger:
    """What this process knows of the bot's message ids, for probes that change nothing."""

    def __init__(
        self, *, settle: float = SETTLE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settle = settle
        self._clock = clock
        self._boot = secrets.token_hex(6)  # this life: floors of another one are not used
        self._born = clock()  # an earlier life's messages all have ids given before this
        self._tokens = itertools.count()
        self._ticks = itertools.count(1)  # orders begins and ends that share a clock reading
        self._shared = self._counter_new(KEPT_IDS)
        self._groups: OrderedDict[int, _Counter] = OrderedDict()

    def _token(self) -> str:
        return f"{self._boot}.{next(self._tokens)}"

    def _counter_new(self, kept: int) -> _Counter:
        return _Counter(self._token(), self._born, next(self._ticks), kept)

    def _counter(self, chat_id: int) -> _Counter:
        if chat_id >= SUPERGROUP_IDS:
            return self._shared
        counter = self._groups.get(chat_id)
        if counter is not None:
            self._groups.move_to_end(chat_id)
            return counter
        # A supergroup not seen before, or forgotten: anchored again by a send from now on.
        counter = self._groups[chat_id] = self._counter_new(KEPT_GROUP_IDS)
        if len(self._groups) > KEPT_GROUPS:
            # The least recent with nothing in flight or unsure is forgotten.
            idle = next((chat for chat, kept in self._groups.items() if kept.idle), None)
            if idle is not None:
                del self._groups[idle]
        return counter

    def saw(self, chat_id: int, message_id: int, *, known: bool = True) -> None:
        """Note a message that came in (``known``: its id is not to be probed)."""
        counter = self._counter(chat_id)
        if known:
            counter.know(message_id)
        else:
            counter.raise_high(message_id)

    def mark(self, chat_id: int) -> str | None:
        """The floor before an attempt at ``chat_id``, as a mark to keep; None: none known."""
        counter = self._counter(chat_id)
        if not counter.anchored or counter.high is None:
            return None
        return f"{counter.token}:{counter.high}"

    def begin(self, chat_id: int) -> Attempt:
        """Note a request that adds a message to ``chat_id``, before it goes."""
        counter = self._counter(chat_id)
        attempt = Attempt(counter, chat_id, self._clock(), next(self._ticks))
        counter.flying.add(attempt)
        return attempt

    def landed(self, attempt: Attempt, message_id: int) -> None:
        """The request went out as ``message_id``."""
        counter = attempt.counter
        counter.flying.discard(attempt)
        counter.know(message_id)
        settled = attempt.started - self._settle
        if settled >= counter.born and attempt.started_tick > counter.born_tick:
            counter.anchored = True  # every message of an earlier life is below this id
        for other in counter.unsure:
            over = other.ended <= settled and other.ended_tick < attempt.started_tick
            if other.bound is None and over:
                other.bound = message_id  # asked after the other was over: a later id

    def failed(self, attempt: Attempt) -> None:
        """The request failed, and said so: nothing was added."""
        attempt.counter.flying.discard(attempt)

    def unsure(self, attempt: Attempt, shows: int | None) -> None:
        """The request ended without knowing whether its message (showing ``shows``) is in."""
        counter = attempt.counter
        counter.flying.discard(attempt)
        attempt.shows, attempt.ended, attempt.ended_tick = shows, self._clock(), next(self._ticks)
        counter.unsure.append(attempt)
        if len(counter.unsure) <= KEPT_ATTEMPTS:
            return
        dropped = next((one for one in counter.unsure if one.bound is not None), None)
        if dropped is not None and dropped.bound is not None:
            counter.unsure.remove(dropped)
            counter.lost = max(counter.lost, dropped.bound - 1)  # its message is below
            return
        # Its message may be anywhere: start afresh, as after a restart.
        counter.unsure.pop(0)
        counter.token = self._token()
        counter.born, counter.born_tick = self._clock(), next(self._ticks)
        counter.anchored = False

    def candidates(
        self, chat_id: int, mark: str, sent_id: int, shows: int, skip: set[int]
    ) -> list[int] | str:
        """The ids above the floor ``mark`` and below ``sent_id`` that may hold a copy.

        Oldest first (a copy went out soon after its floor was noted). A reason instead when
        a probe could land on a message of the bot this process does not know.
        """
        counter = self._counter(chat_id)
        token, _, floor_text = mark.rpartition(":")
        if token != counter.token or not floor_text.isdigit():
            return "its floor was noted before a restart"
        floor = int(floor_text)
        if floor < counter.lost:
            return "what happened since its floor is no longer known"
        if any(other.chat_id == chat_id for other in counter.flying):
            return "another message to the chat is on its way"
        for other in counter.unsure:
            if other.chat_id != chat_id or (other.shows is not None and other.shows == shows):
                continue  # another chat's message is not found there; the same one is a copy
            if other.bound is None or other.bound > floor + 1:
                return "another message to the chat may have arrived unseen"
        found: list[int] = []
        candidate = floor + 1
        while candidate < sent_id and len(found) < PROBE_LIMIT:
            if not counter.knows(candidate) and candidate not in skip:
                found.append(candidate)
            candidate += 1
        return found

    def found(self, chat_id: int, shows: int, copies: list[int]) -> None:
        """The probe found ``copies``: they are known, and so are the attempts they came from."""
        counter = self._counter(chat_id)
        for copy in copies:
            counter.know(copy)
        left = len(copies)
        for attempt in list(counter.unsure):
            if left == 0:
                break
            if attempt.chat_id == chat_id and attempt.shows == shows:
                counter.unsure.remove(attempt)
                left -= 1


async def find_copies(
    bot: MistriBot,
    chat_id: int,
    candidates: list[int],
    text: str,
    markup: JSONDict | None,
    *,
    wanted: int,
) -> tuple[str, ...]:
    """Probe ``candidates`` for copies of ``text`` with ``markup``; stop after ``wanted``."""
    found: list[str] = []
    for candidate in candidates:
        try:
            await bot.edit_text(chat_id, candidate, text, markup=markup)
        except BadRequest as error:
            if "not modified" in str(error).lower():
                found.append(str(candidate))  # the bot's, with exactly this text: a copy
                if len(found) >= wanted:
                    break
            continue  # not in this chat, not the bot's, not a text: not a copy
        except TelegramError as error:
            # Best effort: a copy not found now stays where it is (see docs/privacy.md).
            log.info("looking for copies of a message stopped: %s", type(error).__name__)
            break
        # A message of the bot this process did not know: only another process sending as
        # this bot can leave one there (``# multi-worker:`` in channel.py). It now shows this
        # text, so it goes with this message from here on; no further id is probed.
        log.error("a probe for copies changed an unknown message of the bot; kept as a copy")
        found.append(str(candidate))
        break
    return tuple(found)
