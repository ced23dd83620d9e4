"""Dispatch: route one inbound event to its flow, carry out what the flow asks, keep the state.

Channel-neutral (no Telegram here): an adapter turns its updates into
:class:`~conversations.events.Inbound` events, calls :meth:`Dispatcher.handle`, and delivers
the returned reply; messages to other people (a technician's job notice, the customer's "who
is coming") go out through the :class:`Notifier` the adapter provides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations import booking, common, datarights, jobs, privacy
from conversations import orders as order_texts
from conversations.events import ButtonPress, Command, Inbound
from conversations.i18n import LANGUAGES, pick_language
from conversations.outbound import Outbound, Reply, to_json
from conversations.session import BOOKING, Context, Session
from conversations.views import OrderView, TechnicianView
from storage import customers, erasure, orders, outbox, technicians
from storage.engine import session_factory
from storage.models import Order, Technician, utcnow
from storage.sessions import SessionStore

log = logging.getLogger(__name__)

#: How long a technician has to answer an offer before it goes to the next one.
DEFAULT_OFFER_TIMEOUT = timedelta(minutes=10)


class Notifier(Protocol):
    """Delivers a message to someone other than the sender; returns its message id."""

    async def push(self, message: Outbound) -> int | None:
        """Send ``message``; return the channel's message id, or None if it could not be sent."""
        ...


@dataclass(frozen=True)
class Contacts:
    """Configured contacts: the operators' chat and the support phone and email."""

    admin_chat_id: int | None = None
    support_phone: str | None = None
    support_email: str | None = None


class Dispatcher:
    """Handles events of every person; one instance per running bot."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        store: SessionStore,
        notifier: Notifier,
        contacts: Contacts,
        clock: Callable[[], datetime] = utcnow,
        offer_timeout: timedelta = DEFAULT_OFFER_TIMEOUT,
    ) -> None:
        self._engine = engine
        self._db: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._store = store
        self._notifier = notifier
        self._contacts = contacts
        self._clock = clock
        self._offer_timeout = offer_timeout
        #: Called after notices were committed to the outbox (wakes the delivery worker).
        self.outbox_ready: Callable[[], None] = lambda: None

    def _context(self) -> Context:
        return Context(now=self._clock(), policy_version=privacy.POLICY_VERSION)

    async def handle(self, event: Inbound) -> Reply:
        """Answer ``event``; the session is committed before this returns."""
        session = await self._store.load(event.sender.user_id)
        if session.lang is None:
            session.lang = pick_language(event.sender.language_code)
        payload = event.payload
        if isinstance(payload, ButtonPress) and payload.data == datarights.CONFIRM_DELETE:
            # Erasure leaves no session row behind: nothing is saved after it.
            return await self._erase(event, _lang(session))
        if isinstance(payload, Command):
            outcome = await self._command(session, event, payload)
        elif isinstance(payload, ButtonPress):
            outcome = await self._button(session, event, payload)
        elif session.flow == BOOKING:
            outcome = booking.handle(session, event, self._context())
        else:
            outcome = booking.Outcome(session.copy())
            outcome.reply.send(common.idle_hint(event.sender.chat_id, _lang(session)))
        reply = await self._carry_out(outcome, event)
        await self._store.save(outcome.session)
        return reply

    # --- commands ---------------------------------------------------------------------------

    async def _command(
        self, session: Session, event: Inbound, command: Command
    ) -> booking.Outcome:
        chat, lang, name = event.sender.chat_id, _lang(session), command.name
        outcome = booking.Outcome(session.copy())
        reply = outcome.reply
        if name == "start":
            reply.send(common.welcome(chat, lang, event.sender.first_name))
            if session.flow == BOOKING:
                reply.extend(booking.reprompt(session, self._context()).reply)
        elif name == "book":
            return await self._start_booking(session, event)
        elif name == "cancel":
            if session.flow == BOOKING:
                return booking.cancel(session)
            reply.send(common.nothing_to_cancel(chat, lang))
        elif name == "help":
            contacts = self._contacts
            reply.send(
                common.help_text(chat, lang, contacts.support_phone, contacts.support_email)
            )
            self._resume(outcome, session)
        elif name == "privacy":
            reply.effects.extend(self._policy(chat, lang))
            self._resume(outcome, session)
        elif name == "language":
            reply.send(common.language_menu(chat, lang))
        elif name == "myorders":
            reply.send(await self._my_orders(event.sender.user_id, chat, lang))
            self._resume(outcome, session)
        elif name == "mydata":
            reply.send(await self._my_data(event.sender.user_id, chat, lang, session))
            self._resume(outcome, session)
        elif name == "deleteme":
            reply.send(datarights.confirm_delete(chat, lang))
        elif name == "jobs":
            reply.send(await self._jobs(event.sender.user_id, chat, lang))
        elif session.flow == BOOKING:
            return booking.handle(session, event, self._context())
        else:
            reply.send(common.unknown_command(chat, lang, name))
        return outcome

    def _resume(self, outcome: booking.Outcome, session: Session) -> None:
        # A command in the middle of a booking must not lose it: ask the step again after.
        if session.flow == BOOKING:
            outcome.reply.extend(booking.reprompt(session, self._context()).reply)

    def _policy(self, chat: int, lang: str) -> list[Outbound]:
        contacts = self._contacts
        return privacy.policy_messages(chat, lang, contacts.support_phone, contacts.support_email)

    async def _start_booking(self, session: Session, event: Inbound) -> booking.Outcome:
        if session.flow == BOOKING:
            outcome = booking.reprompt(session, self._context())
            outcome.reply.effects.insert(
                0, common.already_booking(event.sender.chat_id, _lang(session))
            )
            return outcome
        async with self._engine.connect() as conn:
            profile = await customers.profile(conn, telegram_id=event.sender.user_id)
        return booking.start(session, self._context(), profile, event.sender.first_name)

    async def _my_orders(self, user_id: int, chat: int, lang: str) -> Outbound:
        async with self._db() as db:
            customer = await customers.get(db, telegram_id=user_id)
            rows = (
                []
                if customer is None
                else await orders.for_customer(db, customer_id=customer.id or 0)
            )
            views = [_view(order, contact=False) for order in rows]
        return order_texts.my_orders(chat, lang, views)

    async def _my_data(self, user_id: int, chat: int, lang: str, session: Session) -> Outbound:
        async with self._db() as db:
            customer = await customers.get(db, telegram_id=user_id)
            if customer is None:
                return datarights.my_data(chat, lang, None)
            rows = await orders.for_customer(db, customer_id=customer.id or 0, limit=100)
            held = datarights.HeldData(
                name=customer.name,
                phone=customer.phone,
                address=customer.address,
                has_location=customer.latitude is not None,
                consent_version=customer.consent_version,
                consent_at=customer.consent_at,
                order_references=tuple(order.reference for order in rows),
                in_conversation=session.flow == BOOKING,
            )
        return datarights.my_data(chat, lang, held)

    async def _erase(self, event: Inbound, lang: str) -> Reply:
        user_id, chat = event.sender.user_id, event.sender.chat_id
        async with self._db() as db:
            erased = await erasure.erase_customer(db, telegram_id=user_id)
            await db.commit()
        self._store.forget(user_id)
        reply = Reply()
        if erased:
            reply.send(datarights.deleted(chat, lang))
            log.info("a customer erased their data")
        else:
            reply.send(datarights.nothing_to_delete(chat, lang))
        return reply

    async def _jobs(self, user_id: int, chat: int, lang: str) -> Outbound:
        async with self._db() as db:
            technician = await technicians.get_by_telegram_id(db, telegram_id=user_id)
            if technician is None:
                return Outbound(chat, _only_technicians(lang))
            rows = await orders.open_for_technician(db, technician_id=technician.id or 0)
            views = [_view(order, contact=True) for order in rows]
        return jobs.jobs_list(chat, lang, views)

    # --- buttons ----------------------------------------------------------------------------

    async def _button(
        self, session: Session, event: Inbound, press: ButtonPress
    ) -> booking.Outcome:
        chat, data = event.sender.chat_id, press.data
        prefix = data.partition(":")[0]
        if prefix == common.LANGUAGE_PREFIX:
            return self._switch_language(session, event, data.partition(":")[2])
        if data == common.BOOK_DATA:
            return await self._start_booking(session, event)
        if data == datarights.KEEP:
            outcome = booking.Outcome(session.copy())
            outcome.reply.send(datarights.kept(chat, _lang(session)))
            self._resume(outcome, session)
            return outcome
        if prefix == jobs.PREFIX:
            outcome = booking.Outcome(session.copy())
            outcome.reply = await self._job_button(event, data, _lang(session))
            self._resume(outcome, session)
            return outcome
        if prefix == booking.PREFIX and session.flow == BOOKING:
            return booking.handle(session, event, self._context())
        outcome = booking.Outcome(session.copy())
        outcome.reply.send(common.stale_button(chat, _lang(session)))
        return outcome

    def _switch_language(self, session: Session, event: Inbound, lang: str) -> booking.Outcome:
        outcome = booking.Outcome(session.copy())
        if lang not in LANGUAGES:
            outcome.reply.send(common.stale_button(event.sender.chat_id, _lang(session)))
            return outcome
        outcome.session.lang = lang
        outcome.reply.send(common.language_set(event.sender.chat_id, lang))
        outcome.reply.toast = common.LANGUAGE_NAMES[lang]
        if outcome.session.flow == BOOKING:
            outcome.reply.extend(booking.reprompt(outcome.session, self._context()).reply)
        return outcome

    async def _job_button(self, event: Inbound, data: str, lang: str) -> Reply:
        reply = Reply()
        chat = event.sender.chat_id
        press = jobs.parse_button(data)
        if press is None:
            reply.send(common.stale_button(chat, lang))
            return reply
        async with self._engine.begin() as conn:
            offer = await orders.load_offer(conn, offer_id=press.offer_id)
            technician = await technicians.find(conn, telegram_id=event.sender.user_id)
            # Authorise from the database: the button's data says which offer, never who may.
            if offer is None or technician is None or offer.technician_id != technician.id:
                reply.send(jobs.not_yours(chat, lang))
                return reply
            if not await orders.answer(conn, offer_id=offer.id, accept=press.accept):
                reply.send(jobs.job_gone(chat, lang))
                return reply
            order = await orders.load(conn, order_id=offer.order_id)
            if order is None:  # pragma: no cover - foreign key guarantees it
                reply.send(jobs.job_gone(chat, lang))
                return reply
            if press.accept:
                await orders.assign(conn, order_id=order.id, technician_id=offer.technician_id)
                await self._hand_over(conn, order, technician, lang)
            else:
                await self._offer_in(conn, order)
        reply.followups.append(self._outbox_ready_later)
        view = _view(order, contact=False)
        message_id = press_message(event)
        if press.accept:
            reply.send(jobs.job_taken(chat, lang, view, message_id))
            reply.toast = jobs.accepted_toast(lang)
        else:
            reply.send(jobs.job_declined(chat, lang, view, message_id))
        return reply

    async def _hand_over(
        self,
        conn: AsyncConnection,
        order: orders.StoredOrder,
        technician: Technician,
        lang: str,
    ) -> None:
        """Queue the contact for the technician and the technician for the customer."""
        view = _view(order, contact=True)
        await outbox.enqueue(
            conn,
            chat_id=technician.telegram_id,
            kind="contact",
            body=to_json(jobs.contact_card(technician.telegram_id, lang, view)),
            order_id=order.id,
            customer_id=order.customer_id,
        )
        customer_chat = await customers.chat_of(conn, customer_id=order.customer_id)
        if customer_chat is not None:
            coming = order_texts.technician_coming(
                customer_chat, order.lang, view, _technician_view(technician)
            )
            await outbox.enqueue(
                conn, chat_id=customer_chat, kind="status", body=to_json(coming), order_id=order.id
            )

    async def _outbox_ready_later(self) -> None:
        # A follow-up: the sender's own answer is delivered before the notices it caused.
        self.outbox_ready()

    # --- actions ----------------------------------------------------------------------------

    async def _carry_out(self, outcome: booking.Outcome, event: Inbound) -> Reply:
        reply = outcome.reply
        for action in outcome.actions:
            if isinstance(action, booking.GiveConsent):
                async with self._engine.begin() as conn:
                    await customers.record_consent(
                        conn,
                        telegram_id=event.sender.user_id,
                        lang=_lang(outcome.session),
                        version=action.version,
                        at=self._clock(),
                    )
            elif isinstance(action, booking.ShowPolicy):
                chat = event.sender.chat_id
                reply.effects[0:0] = self._policy(chat, _lang(outcome.session))
            elif isinstance(action, booking.PlaceOrder):
                await self._place_order(action.draft, event, reply)
        return reply

    async def _place_order(self, draft: booking.OrderDraft, event: Inbound, reply: Reply) -> None:
        chat = event.sender.chat_id
        async with self._engine.begin() as conn:
            customer_id = await customers.save_details(
                conn,
                telegram_id=event.sender.user_id,
                lang=draft.lang,
                name=draft.name,
                phone=draft.phone,
                address=draft.address,
                latitude=draft.latitude,
                longitude=draft.longitude,
            )
            order, created = await orders.place(
                conn,
                draft_id=draft.draft_id,
                customer_id=customer_id,
                lang=draft.lang,
                service=draft.service,
                area=draft.area,
                area_other=draft.area_other,
                address=draft.address,
                latitude=draft.latitude,
                longitude=draft.longitude,
                phone=draft.phone,
                name=draft.name,
                problem=draft.problem,
                visit_date=draft.visit_date,
                visit_part=draft.visit_part,
            )
            confirmed: Outbound | None = order_texts.order_confirmed(
                chat, draft.lang, _view(order, contact=False)
            )
            # Offered in the same transaction: a stored order is never left without an offer,
            # and the notice is in the outbox before anything can crash.
            if created and not await self._offer_in(conn, order, confirmation=confirmed):
                confirmed = None  # queued before "the team will call", to keep them in order
        if confirmed is not None:
            reply.send(confirmed)
        reply.followups.append(self._outbox_ready_later)
        if created:
            log.info(
                "order %s stored (service=%s area=%s)", order.reference, order.service, order.area
            )

    async def resume(self) -> int:
        """Offer every order that waits for an offer (the process died in between)."""
        async with self._engine.begin() as conn:
            waiting = await orders.stalled(conn)
            for order_id in waiting:
                order = await orders.load(conn, order_id=order_id)
                if order is not None:
                    await self._offer_in(conn, order)
        await self.expire_lapsed_offers()
        self.outbox_ready()
        return len(waiting)

    async def expire_lapsed_offers(self) -> int:
        """Move on from every offer left unanswered past its time; return how many."""
        async with self._engine.connect() as conn:
            lapsed = await orders.lapsed_offers(conn, now=self._clock())
        for offer_id in lapsed:
            await self.offer_lapsed(offer_id)
        if lapsed:
            self.outbox_ready()
        return len(lapsed)

    async def offer_undeliverable(self, offer_id: int) -> None:
        """The offer's notice cannot reach the technician: offer the next one at once."""
        await self.offer_lapsed(offer_id)
        self.outbox_ready()

    async def offer_lapsed(self, offer_id: int) -> None:
        """Close a pending offer without an answer and offer the order to the next candidate."""
        async with self._engine.begin() as conn:
            if not await orders.expire_offer(conn, offer_id=offer_id):
                return  # answered in the meantime: nothing to do
            offer = await orders.load_offer(conn, offer_id=offer_id)
            order = await orders.load(conn, order_id=offer.order_id) if offer else None
            if offer is None or order is None:  # pragma: no cover - foreign keys
                return
            # A notice still in the outbox is withdrawn; one already seen is marked as passed.
            withdrawn = await outbox.cancel_offer_notice(conn, offer_id=offer_id)
            if not withdrawn and offer.message_id is not None:
                technician = await technicians.load(conn, technician_id=offer.technician_id)
                lang = await self._language_of(technician) if technician else "bn"
                passed = jobs.offer_passed(
                    offer.chat_id, lang, _view(order, contact=False), offer.message_id
                )
                await outbox.enqueue(
                    conn, chat_id=offer.chat_id, kind="notice", body=to_json(passed)
                )
            await self._offer_in(conn, order)

    async def _offer_in(
        self,
        conn: AsyncConnection,
        order: orders.StoredOrder,
        *,
        confirmation: Outbound | None = None,
    ) -> bool:
        """In the caller's transaction, offer ``order`` to the best candidate left.

        When no one is left, the order goes to the operators and the customer is told (after
        ``confirmation``, when the order was just placed). Returns whether someone was offered.
        """
        tried = await orders.offered_technicians(conn, order_id=order.id)
        pin = (
            (order.latitude, order.longitude)
            if order.latitude is not None and order.longitude is not None
            else None
        )
        technician = await technicians.match(
            conn, service=order.service, area=order.area, exclude=tried, pin=pin
        )
        if technician is not None:
            offer_id = await orders.offer(
                conn,
                order_id=order.id,
                technician_id=technician.id or 0,
                chat_id=technician.telegram_id,
                expires_at=self._clock() + self._offer_timeout,
            )
            lang = await self._language_of(technician)
            notice = jobs.job_notice(
                technician.telegram_id, lang, _view(order, contact=False), offer_id
            )
            await outbox.enqueue(
                conn,
                chat_id=technician.telegram_id,
                kind="offer",
                body=to_json(notice),
                offer_id=offer_id,
                order_id=order.id,
            )
            return True
        await orders.mark_unassigned(conn, order_id=order.id)
        view = _view(order, contact=True)
        customer_chat = await customers.chat_of(conn, customer_id=order.customer_id)
        if customer_chat is not None:
            if confirmation is not None:
                await outbox.enqueue(
                    conn, chat_id=customer_chat, kind="status", body=to_json(confirmation)
                )
            told = order_texts.team_will_call(customer_chat, order.lang, view)
            await outbox.enqueue(
                conn, chat_id=customer_chat, kind="status", body=to_json(told), order_id=order.id
            )
        admin = self._contacts.admin_chat_id
        if admin is not None:
            able = await technicians.able(conn, service=order.service, area=order.area)
            choices = [(tech.id or 0, tech.name or "?") for tech in able]
            await outbox.enqueue(
                conn,
                chat_id=admin,
                kind="escalation",
                body=to_json(jobs.admin_unassigned(admin, view, choices)),
                order_id=order.id,
                customer_id=order.customer_id,
            )
        log.info("order %s escalated to the operators (no technician left)", order.reference)
        return False

    async def _language_of(self, technician: Technician) -> str:
        session = await self._store.load(technician.telegram_id)
        return session.lang or technician.lang

    async def _push(self, message: Outbound) -> int | None:
        try:
            return await self._notifier.push(message)
        except Exception:  # a notice that fails must not fail the sender's update
            log.exception("push to a chat failed")
            return None


def press_message(event: Inbound) -> int | None:
    """Return the id of the message whose button was pressed."""
    payload = event.payload
    return payload.message_id if isinstance(payload, ButtonPress) else None


def _lang(session: Session) -> str:
    return session.lang or "bn"


def _only_technicians(lang: str) -> str:
    from conversations.i18n import translator

    return translator(lang)._("/jobs is for registered technicians.")


def _view(order: Order | orders.StoredOrder, *, contact: bool) -> OrderView:
    """Return a flow's view of ``order``; personal fields only when ``contact`` is meant."""
    return OrderView(
        order_id=order.id or 0,
        reference=order.reference,
        lang=order.lang,
        service=order.service,
        area=order.area,
        area_other=order.area_other,
        problem=order.problem,
        visit_date=order.visit_date,
        visit_part=order.visit_part,
        status=str(order.status),
        created_at=order.created_at,
        name=order.name if contact else None,
        phone=order.phone if contact else None,
        address=order.address if contact else None,
        latitude=order.latitude if contact else None,
        longitude=order.longitude if contact else None,
    )


def _technician_view(technician: Technician) -> TechnicianView:
    return TechnicianView(
        technician_id=technician.id or 0,
        chat_id=technician.telegram_id,
        name=technician.name or "",
        phone=technician.phone or "",
        lang=technician.lang,
    )
