"""The core's world (:class:`Core`) and one event being answered in it (:class:`Turn`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from app.authority import Authority
from app.flood import FloodGuard
from app.ports import Channel, Clock, PersonLock
from conversations import privacy
from conversations.events import Address, Inbound
from conversations.session import DEFAULT_SUPPORT_HOURS, Context, Session
from storage.database import Database, Tx
from storage.models import utcnow
from storage.sessions import SessionStore

#: How long a technician has to answer an offer before it goes to the next one.
DEFAULT_OFFER_TIMEOUT = timedelta(minutes=10)
#: How many orders a customer may have open at once, unless configured otherwise.
DEFAULT_MAX_OPEN_ORDERS = 3


@dataclass(frozen=True)
class Contacts:
    """Who the company is to people: the operators' chat, the support phone and email."""

    operators: Address | None = None
    support_phone: str | None = None
    support_email: str | None = None
    #: When the operators answer, ``HH:MM-HH:MM`` in Dhaka time (``MISTRI_SUPPORT_HOURS``).
    support_hours: str = DEFAULT_SUPPORT_HOURS


@dataclass
class Core:
    """Everything the use cases work with: storage, channels, a lock per person, the time."""

    db: Database
    sessions: SessionStore
    channels: Mapping[str, Channel]
    lock: PersonLock
    contacts: Contacts = field(default_factory=Contacts)
    clock: Clock = utcnow
    offer_timeout: timedelta = DEFAULT_OFFER_TIMEOUT
    #: The most orders a customer may have open at once.
    max_open_orders: int = DEFAULT_MAX_OPEN_ORDERS
    #: Who may act in the operators' chat.
    authority: Authority = field(default_factory=Authority)
    #: The per-person rate cap (None: none, as in tests that drive many events at once).
    flood: FloodGuard | None = None
    #: Chats whose answers wait in the outbox: their next answers go there too, in order.
    backlog: set[Address] = field(default_factory=set)
    #: Told that notices were committed (the delivery worker wakes up).
    wake_outbox: Callable[[], None] = lambda: None

    def context(self) -> Context:
        """The world a flow may look at now."""
        contacts = self.contacts
        return Context(
            now=self.clock(),
            policy_version=privacy.POLICY_VERSION,
            support_phone=contacts.support_phone,
            support_email=contacts.support_email,
            support_hours=contacts.support_hours,
        )

    def chat_moved(self, old: Address, new: Address) -> bool:
        """Address the operators' chat at ``new`` if it was ``old``; True if it was.

        A group upgraded to a supergroup lives at a new id: notices go there, and updates
        from there are the operators'.
        """
        if old in self.backlog:  # its waiting answers were re-addressed: the next ones follow
            self.backlog.discard(old)
            self.backlog.add(new)
        if self.contacts.operators != old:
            return False
        self.contacts = replace(self.contacts, operators=new)
        return True

    def channel(self, address: Address) -> Channel:
        """The channel that reaches ``address``."""
        return self.channels[address.channel]

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A unit of work outside any person's event: its notices go out when it commits."""
        return self.db.transaction(on_notices=self.wake_outbox)

    async def language_of(self, person: Address | None, fallback: str) -> str:
        """The language ``person`` chose in the chat (their session's), else ``fallback``."""
        if person is None:
            return fallback
        session = await self.sessions.load(person)
        return session.lang or fallback


@dataclass
class Turn:
    """One inbound event being answered: who, where, their session, and what it caused."""

    core: Core
    event: Inbound
    session: Session
    #: Notices were committed on the way: the delivery worker is woken after the answer.
    notified: bool = False

    @property
    def person(self) -> Address:
        """Who sent the event."""
        return self.event.sender.person

    @property
    def chat(self) -> Address:
        """Where the event came from, and where the answer goes."""
        return self.event.sender.chat

    @property
    def lang(self) -> str:
        """The language the person is answered in."""
        return self.session.lang or "bn"

    def context(self) -> Context:
        """The world a flow may look at now, with the number the sender's channel knows."""
        ctx = self.core.context()
        phone = self.event.sender.phone
        return ctx if phone is None else replace(ctx, sender_phone=phone)

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A unit of work for this event; its notices wait until the answer is out."""
        return self.core.db.transaction(on_notices=self._notices_committed)

    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A unit of work that only reads."""
        return self.core.db.read()

    def _notices_committed(self) -> None:
        self.notified = True
