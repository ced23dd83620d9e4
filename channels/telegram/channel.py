"""Telegram as the core's :class:`~app.ports.Channel`: send, replace, delete, acknowledge.

Failures come back as the kinds the core acts on: ``403`` (blocked, deactivated) is
:class:`~app.ports.Unreachable`; ``429`` a :class:`~app.ports.Retry` after the wait Telegram
names; network errors and timeouts a :class:`~app.ports.Retry` with backoff; a ``400`` that
names ``migrate_to_chat_id`` (a group upgraded to a supergroup) :class:`~app.ports.Moved`;
any other ``400`` :class:`~app.ports.Refused`, with Telegram's description (which names what
was wrong, never what was in the message).

A message with a pin is two Bot API messages, each a step: what went out is reported with the
failure of the next (:class:`~app.ports.Progress`), so a retry sends only the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from app.ports import (
    DeliveryError,
    Moved,
    Progress,
    Refused,
    Removal,
    Retry,
    Sent,
    Unreachable,
)
from channels.telegram.bot import MistriBot
from channels.telegram.copies import SETTLE, Ledger, content, find_copies
from channels.telegram.inbound import CHANNEL, address
from channels.telegram.render import CAPABILITIES, inline, markup
from conversations.events import Address, Inbound
from conversations.outbound import Document, Outbound

log = logging.getLogger(__name__)


class TelegramChannel:
    """Reaches Telegram chats through one bot."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        bot: MistriBot,
        *,
        find_copies: bool = True,
        settle: float = SETTLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``find_copies``: probe for copies after unknown outcomes (:mod:`~.copies`).

        ``settle``: seconds within which Telegram carries out a request the bot gave up on.
        """
        self.bot = bot
        # multi-worker: a probe is safe only while every message this bot sends goes through
        # this object (one process). With several processes sending as the bot (issue 14),
        # each must know the others' sends, or run with find_copies=False.
        self._find_copies = find_copies
        self._ledger = Ledger(settle=settle, clock=clock)

    def saw(self, update: Update) -> None:
        """Note the message ids an update shows, before it is handled (:mod:`~.copies`).

        Copies are looked for only above ids seen, and a message that came in is never probed.
        """
        if update.message is not None:
            self._ledger.saw(update.message.chat.id, update.message.message_id)
        query = update.callback_query
        if query is not None and isinstance(query.message, Message):
            # A message of the bot: it may itself be a copy, so it only raises the floor.
            self._ledger.saw(query.message.chat.id, query.message.message_id, known=False)

    async def send(
        self, chat: Address, message: Outbound, *, progress: Progress | None = None
    ) -> Sent:
        """Send ``message`` (edit the one it replaces, where Telegram still lets us).

        The text and the pin are two steps: a part ``progress`` holds is not sent again,
        and a failure carries what went out before it. After attempts at the text whose
        outcome was unknown, copies they left are looked for (:mod:`channels.telegram.copies`).
        """
        done = progress or Progress()
        chat_id = int(chat.id)
        text_id, pin_id, copies = done.sent.message_id, done.sent.pin_id, done.sent.copies
        unsure = done.unsure  # attempts at the next part that may have arrived
        since = done.since if unsure else None  # the floor before the first of them
        adding: str | None = None  # the part whose request is in flight, when it adds one
        floor: str | None = None
        try:
            if text_id is None:
                rendered = markup(message)
                if message.replaces is not None and await self._edited(chat_id, message):
                    text_id = message.replaces
                else:
                    floor, adding = self._ledger.mark(chat_id), "text"
                    sent_id = await self._add(
                        chat_id,
                        self.bot.send_text(chat_id, message.text, markup=rendered),
                        message,
                    )
                    text_id = str(sent_id)
                    if unsure:
                        copies += await self._copies(chat_id, sent_id, message, done, since)
                unsure, since, adding = 0, None, None
            if message.location is not None and pin_id is None:
                adding = "pin"
                pin_id = str(await self._add(chat_id, self._pin(chat_id, message.location)))
                unsure, adding = 0, None
        except TelegramError as error:
            failed = translate(error)
            if adding is not None and outcome_unknown(error):
                if adding == "text" and not unsure:
                    since = floor  # copies of this attempt and later ones are above it
                unsure += 1
            failed.progress = Progress(Sent(text_id, pin_id, copies), unsure, since)
            raise failed from error
        return Sent(text_id, pin_id, copies)

    async def _add(
        self, chat_id: int, request: Awaitable[int], text: Outbound | None = None
    ) -> int:
        """Carry out ``request``, which adds a message (``text``, if one) to ``chat_id``.

        How it ended is noted (:class:`~channels.telegram.copies.Ledger`): a probe for copies
        must know every message of the bot it could land on.
        """
        attempt = self._ledger.begin(chat_id)
        try:
            message_id = await request
        except BaseException as error:
            if isinstance(error, TelegramError) and not outcome_unknown(error):
                self._ledger.failed(attempt)
            else:  # it may have gone out (cancelled on the way, too)
                shows = content(text.text, inline(markup(text))) if text is not None else None
                self._ledger.unsure(attempt, shows)
            raise
        self._ledger.landed(attempt, message_id)
        return message_id

    async def _pin(self, chat_id: int, location: tuple[float, float]) -> int:
        pin = await self.bot.send_location(chat_id, location[0], location[1])
        return pin.message_id

    async def _edited(self, chat_id: int, message: Outbound) -> bool:
        """Edit the message ``message`` replaces; False when it must be said anew."""
        assert message.replaces is not None
        try:
            await self.bot.edit_text(
                chat_id, int(message.replaces), message.text, markup=inline(markup(message))
            )
        except BadRequest as error:
            # Not modified: it says this already. Otherwise it is too old or gone.
            return "not modified" in str(error).lower()
        return True

    async def _copies(
        self, chat_id: int, sent_id: int, message: Outbound, done: Progress, since: str | None
    ) -> tuple[str, ...]:
        """Copies that the attempts of unknown outcome in ``done`` left, when a probe is safe."""
        if not self._find_copies:
            return ()
        if since is None:  # no floor: a probe could land on any earlier message of the bot
            log.info("copies of a message are not looked for: no floor was known")
            return ()
        shows = content(message.text, inline(markup(message)))
        skip = {int(found) for found in done.sent.copies}
        candidates = self._ledger.candidates(chat_id, since, sent_id, shows, skip)
        if isinstance(candidates, str):
            log.info("copies of a message are not looked for: %s", candidates)
            return ()
        try:
            found = await find_copies(
                self.bot,
                chat_id,
                candidates,
                message.text,
                inline(markup(message)),
                wanted=done.unsure,
            )
        except Exception as error:  # the message is out: looking for copies must not undo that
            log.warning("looking for copies of a message failed: %s", type(error).__name__)
            return ()
        self._ledger.found(chat_id, shows, [int(copy) for copy in found])
        if found:
            log.info("%d copies of a message sent after an unknown outcome were found", len(found))
        return found

    async def send_document(self, chat: Address, document: Document) -> Sent:
        """Upload ``document`` as a file (multipart)."""
        try:
            sent_id = await self._add(int(chat.id), self._document(int(chat.id), document))
        except TelegramError as error:
            raise translate(error) from error
        return Sent(str(sent_id))

    async def _document(self, chat_id: int, document: Document) -> int:
        sent = await self.bot.send_document(
            chat_id,
            InputFile(document.content, filename=document.filename),
            caption=document.caption or None,
            parse_mode=ParseMode.HTML if document.caption else None,
        )
        return sent.message_id

    async def delete(self, chat: Address, message_id: str) -> Removal:
        """Delete a message we sent; REFUSED when Telegram keeps it (over 48 hours old)."""
        try:
            await self.bot.delete_message(int(chat.id), int(message_id))
        except BadRequest as error:
            if "not found" in str(error).lower():
                return Removal.DELETED  # the person deleted it already
            return Removal.REFUSED
        except TelegramError as error:
            raise translate(error) from error
        return Removal.DELETED

    async def replace_text(self, chat: Address, message_id: str, text: str) -> bool:
        """Replace the text of a message we sent (its buttons go); never send anew."""
        try:
            await self.bot.edit_text(int(chat.id), int(message_id), text)
        except BadRequest as error:
            return "not modified" in str(error).lower()
        except TelegramError as error:
            raise translate(error) from error
        return True

    async def acknowledge(self, event: Inbound, toast: str | None) -> None:
        """Answer a button press, with ``toast`` shown on the button itself."""
        if event.receipt is None:
            return
        try:
            await self.bot.answer_callback_query(event.receipt, text=toast)
        except TelegramError as error:
            raise translate(error) from error

    async def administrators(self, chat: Address) -> frozenset[str]:
        """The ids of the group's administrators (Telegram's getChatAdministrators)."""
        try:
            found = await self.bot.administrator_ids(int(chat.id))
        except TelegramError as error:
            raise translate(error) from error
        return frozenset(str(user_id) for user_id in found)


def translate(error: TelegramError) -> DeliveryError:
    """Return the kind of failure the core acts on for a Bot API error."""
    if isinstance(error, ChatMigrated):
        # A group upgraded to a supergroup: same people, a new chat id (not personal data).
        return Moved(address(int(error.new_chat_id)))
    if isinstance(error, InvalidToken):
        # Not this message's fault: it waits; polling stops the bot with one line.
        return Retry("the bot's token was refused")
    if isinstance(error, Forbidden):
        return Unreachable("the chat is closed to the bot")
    if isinstance(error, RetryAfter):
        return Retry("rate limited", after=_seconds(error.retry_after))
    if isinstance(error, BadRequest):  # before NetworkError: a BadRequest is one
        return Refused(error.message)
    if isinstance(error, NetworkError):
        return Retry(type(error).__name__)
    return Retry(type(error).__name__)


def outcome_unknown(error: TelegramError) -> bool:
    """Whether a failed request may still have done its work (Telegram got it, or may have).

    A timeout after the request went out, a server error (5xx) and a connection lost on the
    way back leave it unknown; an error answer (400, 403, 429…) or a connection never made
    (httpx's ``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``) say nothing was done.
    """
    if not isinstance(error, NetworkError) or isinstance(error, BadRequest):
        return False
    return type(error.__cause__).__name__ not in _NEVER_SENT


_NEVER_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
