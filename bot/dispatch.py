"""Dispatch: route one inbound event to its flow, carry out what the flow asks, keep the state.

Channel-neutral (no Telegram here): an adapter turns its updates into
:class:`~conversations.events.Inbound` events, calls :meth:`Dispatcher.handle`, and delivers
the returned reply; messages to other people (a technician's job notice, the customer's "who
is coming") go out through the :class:`Notifier` the adapter provides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations import (
    booking,
    common,
    corrections,
    datarights,
    jobs,
    operators,
    privacy,
    rating,
    redaction,
    registration,
)
from conversations import orders as order_texts
from conversations.events import ButtonPress, Command, Inbound
from conversations.i18n import LANGUAGES, pick_language
from conversations.outbound import Document, Outbound, Reply, to_json
from conversations.phone import mask, parse_bd_mobile
from conversations.session import BOOKING, IDLE, Context, Session
from conversations.views import OrderView, TechnicianView
from storage import (
    audit,
    customer_lookup,
    customers,
    erasure,
    job_messages,
    orders,
    outbox,
    technician_erasure,
    technicians,
)
from storage.engine import begin, connect, session_factory
from storage.models import Order, OrderStatus, Technician, utcnow
from storage.sessions import SessionStore
from storage.writes import Writes

log = logging.getLogger(__name__)
#: Commands that may interrupt a correction (it is asked again after); any other one goes to it.
_ASIDE_OF_CORRECTION = frozenset({"help", "privacy", "myorders", "mydata", "language", "deleteme"})

#: How long a technician has to answer an offer before it goes to the next one.
DEFAULT_OFFER_TIMEOUT = timedelta(minutes=10)


class Notifier(Protocol):
    """Delivers a message to someone other than the sender; returns its message ids."""

    async def push(self, message: Outbound) -> list[int]:
        """Send ``message``; return the ids of what was sent (text, pin), none on failure."""
        ...

    async def delete(self, chat_id: int, message_id: int) -> Removal:
        """Delete a message the bot sent."""
        ...

    async def replace_text(self, message: Outbound) -> bool:
        """Replace the text of ``message.edit_message_id`` (never send anew); True if done."""
        ...


class Removal(StrEnum):
    """What became of a request to delete a message."""

    DELETED = "deleted"  # gone, or already gone
    REFUSED = "refused"  # the channel keeps it (Telegram: over 48 hours old): edit it instead
    FAILED = "failed"  # the chat cannot be reached


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
        writes: Writes | None = None,
        notifier: Notifier,
        contacts: Contacts,
        clock: Callable[[], datetime] = utcnow,
        offer_timeout: timedelta = DEFAULT_OFFER_TIMEOUT,
    ) -> None:
        self._engine = engine
        self._db: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._store = store
        self._writes = writes or Writes(engine, direct=False)
        self._notifier = notifier
        self._contacts = contacts
        self._clock = clock
        self._offer_timeout = offer_timeout
        #: Called after notices were committed to the outbox (wakes the delivery worker).
        self.outbox_ready: Callable[[], None] = lambda: None
        #: Awaited after an erasure commits: the database's log must not keep old copies.
        self.after_erasure: Callable[[], Awaitable[None]] = _nothing

    @property
    def operators_chat(self) -> int | None:
        """The operators' chat, whose commands an adapter reads even though it is a group."""
        return self._contacts.admin_chat_id

    def _context(self) -> Context:
        return Context(now=self._clock(), policy_version=privacy.POLICY_VERSION)

    async def handle(self, event: Inbound) -> Reply:
        """Answer ``event``; the session is committed before this returns."""
        if self._for_operators(event):
            # Operators' commands touch no conversation of the operator's own.
            return await self._operators(event)
        session = await self._store.load(event.sender.user_id)
        if session.lang is None:
            session.lang = pick_language(event.sender.language_code)
        payload = event.payload
        if isinstance(payload, ButtonPress) and payload.data == datarights.CONFIRM_DELETE:
            # Erasure leaves no session row behind: nothing is saved after it.
            return await self._erase(event, _lang(session))
        if (
            isinstance(payload, ButtonPress)
            and payload.data == redaction.CONFIRM_TECHNICIAN_DELETE
        ):
            return await self._erase_technician(event, _lang(session))
        if isinstance(payload, Command):
            outcome = await self._command(session, event, payload)
        elif isinstance(payload, ButtonPress):
            outcome = await self._button(session, event, payload)
        elif session.flow == BOOKING:
            outcome = booking.handle(session, event, self._context())
        elif session.flow == corrections.FLOW:
            outcome = await self._correction(session, event)
        elif session.flow == rating.FLOW:
            outcome = await self._rating_comment(session, event)
        elif session.flow == registration.FLOW:
            outcome = await self._registration(session, event)
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
        if session.flow == corrections.FLOW and name not in _ASIDE_OF_CORRECTION:
            # /cancel ends the correction; /book, /start... would drop what it set aside.
            return await self._correction(session, event)
        if session.flow == rating.FLOW and name not in _ASIDE_OF_CORRECTION:
            # /cancel skips the comment; any other command asks for it again.
            return await self._rating_comment(session, event)
        if session.flow == registration.FLOW and name not in _ASIDE_OF_CORRECTION:
            # /cancel ends the registration; any other command asks the step again.
            return await self._registration(session, event)
        if name == "register" or (name == "start" and command.args == registration.DEEP_LINK):
            return await self._start_registration(session, event)
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
            reply.send(await self._confirm_delete(event.sender.user_id, chat, lang))
        elif name == "jobs":
            reply.effects.extend(await self._jobs(event.sender.user_id, chat, lang))
            self._resume(outcome, session)
        elif name in ("available", "away"):
            available = name == "available"
            reply.send(await self._availability(event.sender.user_id, chat, lang, available))
            self._resume(outcome, session)
        elif session.flow == BOOKING:
            return booking.handle(session, event, self._context())
        else:
            reply.send(common.unknown_command(chat, lang, name))
        return outcome

    def _resume(self, outcome: booking.Outcome, session: Session) -> None:
        # A command in the middle of a booking must not lose it: ask the step again after.
        if session.flow == BOOKING:
            outcome.reply.extend(booking.reprompt(session, self._context()).reply)
        elif session.flow == corrections.FLOW:
            outcome.reply.extend(corrections.reprompt(session).reply)
        elif session.flow == rating.FLOW:
            outcome.reply.extend(rating.reprompt(session).reply)
        elif session.flow == registration.FLOW:
            outcome.reply.extend(registration.reprompt(session).reply)

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
        async with connect(self._engine) as conn:
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
        return order_texts.my_orders_menu(chat, lang, views)

    async def _my_data(self, user_id: int, chat: int, lang: str, session: Session) -> Outbound:
        async with self._db() as db:
            held = await self._held(db, user_id, session)
        return datarights.my_data(chat, lang, held)

    async def _held(self, db: AsyncSession, user_id: int, session: Session) -> datarights.HeldData:
        """Gather everything held about ``user_id``, decrypted, for /mydata and its download."""
        customer = await customers.get(db, telegram_id=user_id)
        record, views = None, []
        if customer is not None:
            record = datarights.CustomerRecord(
                name=customer.name,
                phone=customer.phone,
                address=customer.address,
                latitude=customer.latitude,
                longitude=customer.longitude,
                lang=customer.lang,
                consent_version=customer.consent_version,
                consent_at=customer.consent_at,
                created_at=customer.created_at,
                updated_at=customer.updated_at,
            )
            rows = await orders.all_for_customer(db, customer_id=customer.id or 0)
            views = [_view(order, contact=True) for order in rows]
        technician = await technicians.get_by_telegram_id(db, telegram_id=user_id)
        conversation = None
        if session.flow != IDLE:
            conversation = datarights.Conversation(session.flow, session.step, dict(session.data))
        return datarights.HeldData(
            user_id=user_id,
            lang=_lang(session),
            customer=record,
            orders=tuple(views),
            conversation=conversation,
            technician=None if technician is None else _technician_record(technician),
        )

    async def _erase(self, event: Inbound, lang: str) -> Reply:
        user_id, chat = event.sender.user_id, event.sender.chat_id
        left = await self._erase_customer(user_id, kind="erase", actor="customer")
        reply = Reply()
        if left is not None:
            reply.send(datarights.deleted(chat, lang))
            self._clean_up_after(reply, left)
            log.info("a customer erased their data")
        else:
            reply.send(datarights.nothing_to_delete(chat, lang))
        return reply

    # --- data rights: the download and corrections -------------------------------------------

    async def _data_rights_button(
        self, session: Session, event: Inbound, data: str
    ) -> booking.Outcome:
        """Answer a /mydata button: the download, or the start of a correction."""
        user_id, chat, lang = event.sender.user_id, event.sender.chat_id, _lang(session)
        outcome = booking.Outcome(session.copy())
        field = corrections.parse_fix(data)
        if data == datarights.EXPORT:
            outcome.reply.effects.append(await self._export(user_id, chat, lang, session))
        elif field is None:
            outcome.reply.send(common.stale_button(chat, lang))
        else:
            # Authorised from the database: only a stored customer has details to correct.
            async with self._db() as db:
                customer = await customers.get(db, telegram_id=user_id)
            if customer is not None:
                started = corrections.start(session, field)
                return booking.Outcome(started.session, started.reply)
            outcome.reply.send(datarights.my_data(chat, lang, None))
        self._resume(outcome, session)
        return outcome

    async def _export(
        self, user_id: int, chat: int, lang: str, session: Session
    ) -> Outbound | Document:
        """Return everything held about ``user_id`` as a JSON file, or say nothing is held."""
        now = self._clock()
        async with self._db() as db:
            held = await self._held(db, user_id, session)
            if held.empty:
                return datarights.nothing_to_export(chat, lang)
            actor: audit.Actor = "customer"
            subject = audit.token_subject()
            if held.customer is not None:
                customer = await customers.get(db, telegram_id=user_id)
                subject = audit.customer_subject(customer.id if customer else None)
            elif held.technician is not None:
                technician = await technicians.get_by_telegram_id(db, telegram_id=user_id)
                actor = "technician"
                subject = audit.technician_subject(technician.id if technician else None)
            await audit.record(db, kind="export", actor=actor, subject=subject, at=now)
            await db.commit()
        log.info("a person downloaded their data")
        return datarights.export_document(chat, lang, held, now)

    async def _correction(self, session: Session, event: Inbound) -> booking.Outcome:
        """Run the correction flow one step and store what it settles."""
        result = corrections.handle(session, event)
        outcome = booking.Outcome(result.session, result.reply)
        for action in result.actions:
            await self._save_correction(action, event, outcome)
        if outcome.session.flow != corrections.FLOW:
            # Saved or cancelled: the booking it interrupted (if any) asks its step again.
            self._resume(outcome, outcome.session)
        return outcome

    async def _save_correction(
        self, action: corrections.SaveCorrection, event: Inbound, outcome: booking.Outcome
    ) -> None:
        """Store a corrected detail on the customer and their open orders; tell technicians."""
        user_id, chat, lang = event.sender.user_id, event.sender.chat_id, _lang(outcome.session)
        changes = action.changes()
        changed: list[orders.CorrectedOrder] = []
        async with begin(self._engine) as conn:
            customer_id = await customers.correct_details(
                conn, telegram_id=user_id, changes=changes
            )
            if customer_id is not None:
                changed = await orders.correct_open(conn, customer_id=customer_id, changes=changes)
                await audit.record(
                    conn,
                    kind="correct",
                    actor="customer",
                    subject=audit.customer_subject(customer_id),
                    detail=action.field,
                    at=self._clock(),
                )
        if customer_id is None:
            # Erased since the button was pressed: nothing to correct any more.
            gone = datarights.my_data(chat, lang, None)
            outcome.reply.effects[:] = [replace(gone, remove_keys=True)]
            return
        log.info("a customer corrected their %s (%d open orders)", action.field, len(changed))
        if changed:
            references = [order.reference for order in changed]
            outcome.reply.send(corrections.orders_updated(chat, lang, references))
        told = [
            (order.reference, order.order_id, order.technician_id)
            for order in changed
            if order.technician_id is not None and order.status in orders.WITH_TECHNICIAN
        ]
        if told:
            # After the customer's own answer, as with every message to someone else.
            async def tell_technicians() -> None:
                await self._tell_technicians(told, action)

            outcome.reply.followups.append(tell_technicians)

    async def _tell_technicians(
        self, told: list[tuple[str, int, int]], action: corrections.SaveCorrection
    ) -> None:
        """Send the corrected contact to the technicians who hold the old one."""
        async with self._db() as db:
            conn = await db.connection()
            found = []
            for reference, order_id, technician_id in told:
                offers = await job_messages.accepted_offers(
                    conn, technician_id=technician_id, order_ids=[order_id]
                )
                technician = await technicians.get(db, technician_id=technician_id)
                found.append((reference, offers.get(order_id), technician))
        shown: list[tuple[int, int]] = []
        for reference, offer_id, technician in found:
            if technician is None:
                continue
            lang = await self._language_of(technician)
            sent = await self._push(
                corrections.contact_changed(technician.telegram_id, lang, reference, action)
            )
            if offer_id is not None:
                shown.extend((offer_id, message_id) for message_id in sent)
        # The notice shows the new contact: erasing the customer deletes it with the rest.
        await self.record_views(shown)

    async def _jobs(self, user_id: int, chat: int, lang: str) -> list[Outbound]:
        async with self._db() as db:
            technician = await technicians.get_by_telegram_id(db, telegram_id=user_id)
            if technician is None:
                return [Outbound(chat, _only_technicians(lang))]
            rows = await orders.open_for_technician(db, technician_id=technician.id or 0)
            views = [_view(order, contact=True) for order in rows]
            offers = await job_messages.accepted_offers(
                await db.connection(),
                technician_id=technician.id or 0,
                order_ids=[view.order_id for view in views],
            )
        return jobs.open_jobs(chat, lang, views, offers)

    async def record_views(self, shown: Sequence[tuple[int, int]]) -> None:
        """Keep (offer id, message id) of sent messages showing a contact, for erasure."""
        if shown:
            await self._writes(job_messages.views(shown))

    # --- buttons ----------------------------------------------------------------------------

    async def _button(
        self, session: Session, event: Inbound, press: ButtonPress
    ) -> booking.Outcome:
        chat, data = event.sender.chat_id, press.data
        prefix = data.partition(":")[0]
        if prefix == common.LANGUAGE_PREFIX:
            return self._switch_language(session, event, data.partition(":")[2])
        if prefix == datarights.PREFIX and data != datarights.KEEP:
            return await self._data_rights_button(session, event, data)
        if prefix == rating.PREFIX:
            return await self._rating_button(session, event, data)
        if prefix == order_texts.PREFIX:
            outcome = booking.Outcome(session.copy())
            outcome.reply = await self._order_button(event, data, _lang(session))
            self._resume(outcome, session)
            return outcome
        if session.flow == corrections.FLOW and prefix != jobs.PREFIX and data != datarights.KEEP:
            # Mid-correction any other button (Book included) is stale: ask the correction again.
            return await self._correction(session, event)
        if prefix == registration.AVAILABILITY_PREFIX:
            outcome = booking.Outcome(session.copy())
            available = registration.parse_availability(data)
            if available is None:
                outcome.reply.send(common.stale_button(chat, _lang(session)))
            else:
                answer = await self._availability(
                    event.sender.user_id, chat, _lang(session), available, press_message(event)
                )
                outcome.reply.send(answer)
            self._resume(outcome, session)
            return outcome
        if session.flow == registration.FLOW and prefix != jobs.PREFIX and data != datarights.KEEP:
            # Mid-registration any other button (Book included) is stale: ask the step again.
            return await self._registration(session, event)
        if session.flow == rating.FLOW and prefix != jobs.PREFIX and data != datarights.KEEP:
            # Mid-comment any other button (Book included) is stale: ask for the comment again.
            return await self._rating_comment(session, event)
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
        self._resume(outcome, outcome.session)
        return outcome

    async def _job_button(self, event: Inbound, data: str, lang: str) -> Reply:
        reply = Reply()
        chat = event.sender.chat_id
        status = jobs.parse_status_button(data)
        if status is not None:
            return await self._job_status(event, status, lang)
        press = jobs.parse_button(data)
        if press is None:
            reply.send(common.stale_button(chat, lang))
            return reply
        async with begin(self._engine) as conn:
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
                await self._hand_over(conn, order, technician, lang, offer_id=offer.id)
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
        *,
        offer_id: int | None,
    ) -> None:
        """Queue the contact for the technician and the technician for the customer.

        The worker keeps the contact's message ids on the offer, so it can be deleted from
        the technician's chat if the customer is erased.
        """
        view = _view(order, contact=True)
        await outbox.enqueue(
            conn,
            chat_id=technician.telegram_id,
            kind="contact",
            body=to_json(jobs.contact_card(technician.telegram_id, lang, view)),
            offer_id=offer_id,
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

    # --- the job lifecycle: /jobs buttons, customers' cancel and rating, hand assignment -----

    async def _job_status(self, event: Inbound, press: jobs.StatusButton, lang: str) -> Reply:
        """On the way / Done / Cancel (and its reason) on a job of the presser's."""
        reply = Reply()
        chat, message_id = event.sender.chat_id, press_message(event)
        async with begin(self._engine) as conn:
            technician = await technicians.find(conn, telegram_id=event.sender.user_id)
            order = await orders.load(conn, order_id=press.order_id)
            # Authorised from the database: the button names a job, never who may move it.
            if technician is None or order is None or order.technician_id != technician.id:
                reply.send(jobs.job_not_yours(chat, lang))
                return reply
            if press.action == jobs.DONE and order.status == OrderStatus.ASSIGNED:
                reply.send(jobs.not_on_the_way_yet(chat, lang, order.reference))
                return reply
            shown = await self._move_job(
                conn, order, technician, press, lang=lang, message_id=message_id
            )
            if shown is None:
                # Pressed twice, or the job moved on meanwhile: say where it stands.
                current = await orders.load(conn, order_id=order.id) or order
                reply.send(jobs.job_moved_on(chat, lang, order.reference, str(current.status)))
                return reply
            if press.action in (jobs.WAY, jobs.CANCEL, jobs.KEEP):
                # The job message keeps the contact; should the edit come out as a new message
                # (the old one gone), erasure must find that one too.
                offers = await job_messages.accepted_offers(
                    conn, technician_id=technician.id or 0, order_ids=[order.id]
                )
                shown = replace(shown, shows_offer=offers.get(order.id))
        reply.send(shown)
        if press.action in (jobs.WAY, jobs.DONE, jobs.REASON):
            reply.followups.append(self._outbox_ready_later)
            log.info("order %s: technician pressed %s", order.reference, press.action)
        return reply

    async def _move_job(
        self,
        conn: AsyncConnection,
        order: orders.StoredOrder,
        technician: Technician,
        press: jobs.StatusButton,
        *,
        lang: str,
        message_id: int | None,
    ) -> Outbound | None:
        """Carry out a job button in the caller's transaction; None when the state forbids it.

        Every change is a conditional update (of two presses, one wins) and the customer's
        notice is queued with it.
        """
        chat, technician_id = technician.telegram_id, technician.id or 0
        if press.action in (jobs.CANCEL, jobs.KEEP):
            if order.status not in orders.WITH_TECHNICIAN:
                return None
            view = _view(order, contact=True)
            if press.action == jobs.CANCEL:
                return jobs.ask_cancel_reason(chat, lang, view, message_id)
            return jobs.job_kept(chat, lang, view, message_id)
        if press.action == jobs.REASON:
            reason = f"technician:{press.reason}"
            if not await orders.give_back(
                conn, order_id=order.id, technician_id=technician_id, reason=reason
            ):
                return None
            await self._reoffer_given_back(conn, replace(order, status=str(OrderStatus.NEW)))
            return jobs.job_given_back(
                chat, lang, _view(order, contact=False), press.reason or "", message_id
            )
        way = press.action == jobs.WAY
        moved = await orders.move_assigned(
            conn,
            order_id=order.id,
            technician_id=technician_id,
            allowed=(OrderStatus.ASSIGNED,) if way else (OrderStatus.ON_THE_WAY,),
            status=OrderStatus.ON_THE_WAY if way else OrderStatus.DONE,
        )
        if not moved:
            return None
        order = replace(order, status=str(OrderStatus.ON_THE_WAY if way else OrderStatus.DONE))
        customer_chat = await customers.chat_of(conn, customer_id=order.customer_id)
        if customer_chat is not None:
            told_lang = await self._chat_language(customer_chat, order.lang)
            told = (
                order_texts.technician_on_the_way(
                    customer_chat, told_lang, _view(order, contact=False), technician.name or ""
                )
                if way
                else rating.ask_rating(customer_chat, told_lang, order.reference, order.id)
            )
            await outbox.enqueue(
                conn, chat_id=customer_chat, kind="status", body=to_json(told), order_id=order.id
            )
        if way:
            return jobs.on_the_way_set(chat, lang, _view(order, contact=True), message_id)
        return jobs.done_set(chat, lang, _view(order, contact=False), message_id)

    async def _reoffer_given_back(self, conn: AsyncConnection, order: orders.StoredOrder) -> None:
        """Offer a job its technician gave back to the next candidate; tell the customer."""
        customer_chat = await customers.chat_of(conn, customer_id=order.customer_id)
        if customer_chat is None:
            await self._offer_in(conn, order)
            return
        told_lang = await self._chat_language(customer_chat, order.lang)
        # With no one left, "cannot come" goes before "the team will call" (see _offer_in).
        alone = order_texts.technician_cannot_come(
            customer_chat, told_lang, order.reference, finding=False
        )
        if await self._offer_in(conn, order, confirmation=alone):
            finding = order_texts.technician_cannot_come(
                customer_chat, told_lang, order.reference, finding=True
            )
            await outbox.enqueue(
                conn,
                chat_id=customer_chat,
                kind="status",
                body=to_json(finding),
                order_id=order.id,
            )

    async def _order_button(self, event: Inbound, data: str, lang: str) -> Reply:
        """A customer's Cancel on /myorders, and its Yes / No."""
        reply = Reply()
        chat, message_id = event.sender.chat_id, press_message(event)
        press = order_texts.parse_order_button(data)
        if press is None:
            reply.send(common.stale_button(chat, lang))
            return reply
        async with begin(self._engine) as conn:
            order = await orders.load(conn, order_id=press.order_id)
            owner = await customers.chat_of(conn, customer_id=order.customer_id) if order else None
            # Authorised from the database: only the order's own customer may cancel it.
            if order is None or order.customer_id is None or owner != event.sender.user_id:
                reply.send(order_texts.not_your_order(chat, lang))
                return reply
            if press.action == order_texts.NO_CANCEL:
                reply.send(order_texts.order_kept(chat, lang, order.reference, message_id))
                return reply
            if order.status not in orders.OPEN_STATUSES:
                reply.send(order_texts.cannot_cancel(chat, lang, order.reference, order.status))
                return reply
            if press.action == order_texts.ASK_CANCEL:
                reply.send(order_texts.confirm_cancel(chat, lang, _view(order, contact=False)))
                return reply
            if not await orders.cancel_by_customer(
                conn, order_id=order.id, customer_id=order.customer_id
            ):
                current = await orders.load(conn, order_id=order.id) or order
                reply.send(order_texts.cannot_cancel(chat, lang, order.reference, current.status))
                return reply
            await self._after_customer_cancel(conn, order)
        reply.send(order_texts.order_cancelled(chat, lang, order.reference, message_id))
        reply.followups.append(self._outbox_ready_later)
        log.info("order %s cancelled by its customer", order.reference)
        return reply

    async def _after_customer_cancel(
        self, conn: AsyncConnection, order: orders.StoredOrder
    ) -> None:
        """In the cancel's transaction: pending offers lapse, the assigned technician is told."""
        view = _view(order, contact=False)
        for offer in await orders.pending_offers(conn, order_id=order.id):
            if not await orders.expire_offer(conn, offer_id=offer.id):
                continue
            # As offer_lapsed: a notice still queued is withdrawn, one already seen is edited.
            withdrawn = await outbox.cancel_offer_notice(conn, offer_id=offer.id)
            if not withdrawn and offer.message_id is not None:
                offered = await technicians.load(conn, technician_id=offer.technician_id)
                offered_lang = await self._language_of(offered) if offered else "bn"
                edit = jobs.offer_withdrawn(offer.chat_id, offered_lang, view, offer.message_id)
                await outbox.enqueue(
                    conn, chat_id=offer.chat_id, kind="notice", body=to_json(edit)
                )
        if order.technician_id is None or order.status not in orders.WITH_TECHNICIAN:
            return
        technician = await technicians.load(conn, technician_id=order.technician_id)
        if technician is None or technician.telegram_id <= 0:
            return  # a technician who left has no chat to tell
        told_lang = await self._language_of(technician)
        told = jobs.cancelled_by_customer(technician.telegram_id, told_lang, order.reference)
        await outbox.enqueue(
            conn,
            chat_id=technician.telegram_id,
            kind="status",
            body=to_json(told),
            order_id=order.id,
        )

    async def _rating_button(self, session: Session, event: Inbound, data: str) -> booking.Outcome:
        """A customer's 1–5 stars on a done job (then the comment step), or Skip."""
        chat, lang, message_id = event.sender.chat_id, _lang(session), press_message(event)
        outcome = booking.Outcome(session.copy())
        press = rating.parse_button(data)
        if press is None:
            outcome.reply.send(common.stale_button(chat, lang))
            self._resume(outcome, session)
            return outcome
        if press.stars is None:
            if rating.order_of(session) == press.order_id:
                skipped = rating.skip(session, message_id)
                outcome = booking.Outcome(skipped.session, skipped.reply)
                self._resume(outcome, outcome.session)
                return outcome
            # A Skip of a step already over: only the button goes.
            outcome.reply.send(rating.skipped(chat, lang, message_id))
            self._resume(outcome, session)
            return outcome
        async with begin(self._engine) as conn:
            order = await orders.load(conn, order_id=press.order_id)
            owner = await customers.chat_of(conn, customer_id=order.customer_id) if order else None
            # Authorised from the database: the order's customer, a done job, not yet rated.
            mine = order is not None and owner == event.sender.user_id
            rated = (
                mine
                and order is not None
                and order.customer_id is not None
                and await orders.rate(
                    conn, order_id=order.id, customer_id=order.customer_id, stars=press.stars
                )
            )
        if order is None or not mine:
            outcome.reply.send(rating.cannot_rate(chat, lang))
        elif not rated and order.status == OrderStatus.DONE:
            outcome.reply.send(rating.already_rated(chat, lang, order.reference))
        elif not rated:
            outcome.reply.send(rating.cannot_rate(chat, lang))
        else:
            log.info("order %s rated %d", order.reference, press.stars)
            started = rating.start_comment(session, order.id, order.reference)
            outcome = booking.Outcome(started.session, started.reply)
            shown = rating.rated(chat, lang, order.reference, press.stars, message_id)
            outcome.reply.effects.insert(0, shown)
            return outcome
        self._resume(outcome, session)
        return outcome

    async def _rating_comment(self, session: Session, event: Inbound) -> booking.Outcome:
        """Run the comment step once and store the comment it settles."""
        result = rating.handle(session, event)
        outcome = booking.Outcome(result.session, result.reply)
        for action in result.actions:
            async with begin(self._engine) as conn:
                order = await orders.load(conn, order_id=action.order_id)
                owner = (
                    await customers.chat_of(conn, customer_id=order.customer_id) if order else None
                )
                saved = (
                    order is not None
                    and order.customer_id is not None
                    and owner == event.sender.user_id
                    and await orders.comment_rating(
                        conn,
                        order_id=order.id,
                        customer_id=order.customer_id,
                        comment=action.text,
                    )
                )
            if not saved:
                log.info("a rating comment was not stored (commented already, or erased)")
        if outcome.session.flow != rating.FLOW:
            # Saved or skipped: what the step interrupted (if anything) asks its step again.
            self._resume(outcome, outcome.session)
        return outcome

    async def _assign_by_hand(
        self, reply: Reply, event: Inbound, order_id: int, technician_id: int
    ) -> None:
        """An operator's "Assign <name>": the order must still wait, the technician be able.

        Only the operators' chat reaches here (``_for_operators``); the button names the
        order and the technician, and the database decides whether the assignment holds.
        """
        chat, message_id = event.sender.chat_id, press_message(event)
        lang = pick_language(event.sender.language_code)
        async with begin(self._engine) as conn:
            order = await orders.load(conn, order_id=order_id)
            technician = await technicians.load(conn, technician_id=technician_id)
            if order is None:
                reply.send(common.stale_button(chat, lang))
                return
            if (
                technician is None
                or technician.telegram_id <= 0
                or technician.status != "approved"
                or not technician.active
            ):
                reply.send(operators.assign_unable(chat, lang, technician_id))
                return
            if not await orders.assign(
                conn,
                order_id=order.id,
                technician_id=technician_id,
                allowed=(OrderStatus.UNASSIGNED,),
            ):
                current = await orders.load(conn, order_id=order.id) or order
                reply.send(operators.assign_stale(chat, lang, order.reference, current.status))
                return
            # An accepted offer of record: the job's messages in the technician's chat are kept
            # on it (found again if the customer is erased), and it keeps them out of re-offers.
            offer_id = await orders.record_assignment(
                conn,
                order_id=order.id,
                technician_id=technician_id,
                chat_id=technician.telegram_id,
            )
            told_lang = await self._language_of(technician)
            notice = jobs.assigned_to_you(
                technician.telegram_id, told_lang, _view(order, contact=False)
            )
            # Queued as the offer's notice, so the worker records its message id on the offer.
            await outbox.enqueue(
                conn,
                chat_id=technician.telegram_id,
                kind="offer",
                body=to_json(notice),
                offer_id=offer_id,
                order_id=order.id,
            )
            await self._hand_over(conn, order, technician, told_lang, offer_id=offer_id)
        shown = _view(replace(order, status=str(OrderStatus.ASSIGNED)), contact=False)
        reply.send(jobs.assigned_by_operator(chat, shown, technician.name or "?", message_id))
        reply.toast = operators.assigned_toast(lang)
        reply.followups.append(self._outbox_ready_later)
        log.info(
            "order %s assigned by an operator to technician #%d", order.reference, technician_id
        )

    async def _open_orders(self, chat: int, lang: str) -> Outbound:
        """/orders in the operators' chat."""
        async with connect(self._engine) as conn:
            rows = await orders.open_orders(conn)
            counts = await orders.open_counts(conn)
        lines = [
            operators.OpenOrderLine(
                reference=row.reference,
                service=row.service,
                area=row.area,
                visit_date=row.visit_date,
                visit_part=row.visit_part,
                status=row.status,
                created_at=row.created_at,
                technician_id=row.technician_id,
                technician_name=row.technician_name,
            )
            for row in rows
        ]
        return operators.open_orders(chat, lang, lines, counts, self._clock())

    async def _technicians(self, chat: int, lang: str) -> Outbound:
        """/technicians in the operators' chat."""
        async with connect(self._engine) as conn:
            rows = await technicians.overview(conn)
        lines = [
            operators.TechnicianLine(
                technician_id=row.id,
                name=row.name,
                phone=row.phone,
                status=row.status,
                active=row.active,
                available=row.available,
                open_jobs=row.open_jobs,
                rating=row.rating,
                ratings=row.ratings,
            )
            for row in rows
        ]
        return operators.technicians_list(chat, lang, lines)

    # --- operators' chat; erasures and what they leave in technicians' chats ---------------

    def _for_operators(self, event: Inbound) -> bool:
        admin = self._contacts.admin_chat_id
        if admin is None or event.sender.chat_id != admin:
            return False
        payload = event.payload
        if isinstance(payload, Command):
            # In the group every command is for the operators; an operators' chat that is one
            # person's private chat keeps its ordinary use for everything but theirs.
            return payload.name in operators.COMMANDS or admin != event.sender.user_id
        return isinstance(payload, ButtonPress) and payload.data.startswith(operators.PREFIX + ":")

    async def _operators(self, event: Inbound) -> Reply:
        """Answer a command or a button in the operators' chat."""
        chat, payload, reply = event.sender.chat_id, event.payload, Reply()
        lang = pick_language(event.sender.language_code)
        if isinstance(payload, Command):
            if payload.name == "audit":
                reply.send(await self._audit(chat, lang))
            elif payload.name == "erase":
                reply.send(await self._erase_request(chat, lang, payload.args))
            elif payload.name == "orders":
                reply.send(await self._open_orders(chat, lang))
            elif payload.name == "technicians":
                reply.send(await self._technicians(chat, lang))
            else:
                reply.send(operators.operators_help(chat, lang))
            return reply
        data = payload.data if isinstance(payload, ButtonPress) else ""
        decision = operators.parse_application_button(data)
        if decision is not None:
            await self._decide_application(reply, event, decision)
            return reply
        assignment = jobs.parse_assign(data)
        if assignment is not None:
            await self._assign_by_hand(reply, event, *assignment)
            return reply
        request = operators.parse_erase_button(data)
        if data == operators.KEEP:
            reply.send(operators.erase_kept(chat, lang, press_message(event)))
        elif request is None:
            reply.send(common.stale_button(chat, lang))
        else:
            await self._erase_confirmed(reply, chat, lang, request, press_message(event))
        return reply

    async def _audit(self, chat: int, lang: str) -> Outbound:
        async with connect(self._engine) as conn:
            events = await audit.recent(conn)
        lines = [operators.AuditLine(e.at, e.kind, e.actor, e.subject, e.detail) for e in events]
        return operators.audit_log(chat, lang, lines)

    async def _erase_request(self, chat: int, lang: str, args: str) -> Outbound:
        """/erase <phone>: find the customer by the phone's blind index, ask to confirm."""
        phone = parse_bd_mobile(args) if args else None
        if phone is None:
            return operators.erase_usage(chat, lang, invalid=bool(args))
        async with self._db() as db:
            found = await customer_lookup.by_phone(db, phone=phone)
            chosen = found[: operators.MAX_ACCOUNTS]
            ids = [row.id or 0 for row in chosen]
            count = await customer_lookup.order_count(db, customer_ids=ids) if ids else 0
        if not chosen:
            return operators.erase_not_found(chat, lang)
        # The button carries internal ids and a check of the rows, never the number.
        return operators.erase_confirm(
            chat,
            lang,
            masked_phone=mask(phone),
            accounts=len(chosen),
            orders=count,
            more_accounts=len(found) > len(chosen),
            data=operators.erase_button_data(ids, customer_lookup.check(chosen)),
        )

    async def _erase_confirmed(
        self,
        reply: Reply,
        chat: int,
        lang: str,
        request: operators.EraseRequest,
        message_id: int | None,
    ) -> None:
        async with self._db() as db:
            rows = await customer_lookup.by_ids(db, customer_ids=request.customer_ids)
            same = len(rows) == len(request.customer_ids)
            same = same and customer_lookup.check(rows) == request.check
            telegram_ids = [row.telegram_id for row in rows]
        if not same:
            reply.send(operators.erase_stale(chat, lang, message_id))
            return
        # The customer is not told: they asked through the operators (a call), may well have
        # blocked the bot, and a message would reach someone who asked to be forgotten.
        for telegram_id in telegram_ids:
            left = await self._erase_customer(
                telegram_id, kind="erase_by_operator", actor="operator"
            )
            if left is not None:
                self._clean_up_after(reply, left)
        reply.send(operators.erased(chat, lang, message_id))
        log.info("an operator erased %d customer account(s)", len(telegram_ids))

    async def _erase_customer(
        self, telegram_id: int, *, kind: audit.Kind, actor: audit.Actor
    ) -> job_messages.CustomerJobs | None:
        """Erase a person's customer data and record it, in one transaction; None if none."""
        async with self._db() as db:
            left = await self._erase_customer_in(db, telegram_id, kind=kind, actor=actor)
            await db.commit()
        self._store.forget(telegram_id)
        await self.after_erasure()
        return left

    async def _erase_customer_in(
        self, db: AsyncSession, telegram_id: int, *, kind: audit.Kind, actor: audit.Actor
    ) -> job_messages.CustomerJobs | None:
        customer = await customers.get(db, telegram_id=telegram_id)
        # Read first: once erased, nothing links the orders (and their messages) to them.
        left = job_messages.CustomerJobs()
        if customer is not None:
            left = await job_messages.of_customer(db, customer_id=customer.id or 0)
        if not await erasure.erase_customer(db, telegram_id=telegram_id):
            return None
        subject = (
            audit.token_subject() if customer is None else audit.customer_subject(customer.id)
        )
        detail = f"orders={len(left.order_ids)}"
        await audit.record(db, kind=kind, actor=actor, subject=subject, detail=detail)
        return left

    def _clean_up_after(self, reply: Reply, left: job_messages.CustomerJobs) -> None:
        """After the reply: the contact leaves technicians' chats; assigned ones hear it is off."""
        if not left.messages and not left.assigned:
            return

        async def clean_up() -> None:
            await self._remove_job_messages(left.messages, redaction.job_erased)
            for job in left.assigned:
                lang = await self._chat_language(job.chat_id, job.lang)
                await self._push(redaction.job_cancelled(job.chat_id, lang, job.reference))

        reply.followups.append(clean_up)

    async def _confirm_delete(self, user_id: int, chat: int, lang: str) -> Outbound:
        """/deleteme: a technician is asked about leaving, anyone else about their data."""
        async with self._db() as db:
            technician = await technicians.get_by_telegram_id(db, telegram_id=user_id)
        if technician is None:
            return datarights.confirm_delete(chat, lang)
        return redaction.confirm_technician_delete(chat, lang, datarights.KEEP)

    async def _erase_technician(self, event: Inbound, lang: str) -> Reply:
        user_id, chat = event.sender.user_id, event.sender.chat_id
        async with self._db() as db:
            gone = await technician_erasure.erase_technician(db, telegram_id=user_id)
            if gone is not None:
                await audit.record(
                    db,
                    kind="technician_erase",
                    actor="technician",
                    subject=audit.technician_subject(gone.technician_id),
                    detail=f"jobs_unassigned={len(gone.unassigned)}",
                )
            # What they hold as a customer goes too, and their conversation with it.
            left = await self._erase_customer_in(db, user_id, kind="erase", actor="technician")
            await db.commit()
        self._store.forget(user_id)
        await self.after_erasure()
        reply = Reply()
        if gone is None:
            reply.send(
                datarights.nothing_to_delete(chat, lang)
                if left is None
                else datarights.deleted(chat, lang)
            )
        else:
            reply.send(redaction.technician_deleted(chat, lang))
            log.info("a technician erased their data (%d jobs unassigned)", len(gone.unassigned))

            async def after_leaving() -> None:
                await self._after_technician_left(gone)

            reply.followups.append(after_leaving)
        if left is not None:
            self._clean_up_after(reply, left)
        return reply

    async def _after_technician_left(self, gone: technician_erasure.TechnicianErasure) -> None:
        """After a technician left: their job messages go, operators hear, offers move on."""
        await self._remove_job_messages(gone.messages, redaction.job_withdrawn)
        for chat, message_id in gone.applications:
            # The operators' copy of their application shows their name and phone.
            if await self._delete(chat, message_id) is Removal.REFUSED:
                await self._replace(
                    operators.application_erased(chat, "en", gone.technician_id, message_id)
                )
        admin = self._contacts.admin_chat_id
        if admin is not None:
            notice = operators.technician_left(admin, "en", gone.technician_id, gone.unassigned)
            await self._push(notice)
        async with begin(self._engine) as conn:
            for order_id in gone.reoffer:
                order = await orders.load(conn, order_id=order_id)
                if order is not None:
                    await self._offer_in(conn, order)
        self.outbox_ready()

    async def _remove_job_messages(
        self, messages: Sequence[job_messages.JobMessages], render: Callable[..., Outbound]
    ) -> None:
        """Delete job messages; where that is refused, replace the text with ``render``'s."""
        counts = dict.fromkeys(Removal, 0)
        for job in messages:
            lang = await self._chat_language(job.chat_id, job.lang)
            pin_left = False
            if job.location_id is not None:
                removal = await self._delete(job.chat_id, job.location_id)
                counts[removal] += 1
                # A pin has no text to replace: the technician is asked to delete it.
                pin_left = removal is Removal.REFUSED
            for message_id in (job.contact_id, job.notice_id, *job.view_ids):
                if message_id is None:
                    continue
                removal = await self._delete(job.chat_id, message_id)
                counts[removal] += 1
                if removal is Removal.REFUSED:
                    shown = render(job.chat_id, lang, job.reference, message_id, pin_left=pin_left)
                    replaced = await self._replace(shown)
                    pin_left = pin_left and not replaced  # the hint is given once
            if pin_left:
                await self._push(render(job.chat_id, lang, job.reference, None, pin_left=True))
        log.info(
            "job messages: %d deleted, %d kept by the channel (redacted), %d unreachable",
            counts[Removal.DELETED],
            counts[Removal.REFUSED],
            counts[Removal.FAILED],
        )

    async def _chat_language(self, chat_id: int, fallback: str) -> str:
        session = await self._store.load(chat_id)
        return session.lang or fallback

    async def _delete(self, chat_id: int, message_id: int) -> Removal:
        try:
            return await self._notifier.delete(chat_id, message_id)
        except Exception:  # one message that cannot go must not stop the others
            log.exception("deleting a message failed")
            return Removal.FAILED

    async def _replace(self, message: Outbound) -> bool:
        try:
            return await self._notifier.replace_text(message)
        except Exception:
            log.exception("replacing a message failed")
            return False

    # --- technicians' registration and availability -----------------------------------------

    async def _start_registration(self, session: Session, event: Inbound) -> booking.Outcome:
        """/register or the ``?start=tech`` link: the flow, unless they already stand somewhere."""
        chat, lang = event.sender.chat_id, _lang(session)
        if session.flow == BOOKING:
            outcome = booking.reprompt(session, self._context())
            outcome.reply.effects.insert(0, registration.finish_booking_first(chat, lang))
            return outcome
        async with connect(self._engine) as conn:
            technician = await technicians.find(conn, telegram_id=event.sender.user_id)
        if technician is not None and technician.status != technicians.REJECTED:
            # Approved or waiting: told where they stand; a rejected applicant may try again.
            outcome = booking.Outcome(session.copy())
            outcome.reply.send(_standing(technician, chat, lang))
            return outcome
        started = registration.start(session, event.sender.first_name)
        return booking.Outcome(started.session, started.reply)

    async def _registration(self, session: Session, event: Inbound) -> booking.Outcome:
        """Run the registration flow one step and store the application it submits."""
        result = registration.handle(session, event)
        outcome = booking.Outcome(result.session, result.reply)
        for action in result.actions:
            await self._submit_application(action.application, event, outcome.reply)
        return outcome

    async def _submit_application(
        self, application: registration.Application, event: Inbound, reply: Reply
    ) -> None:
        """Store a pending technician and queue the application for the operators, together."""
        chat, admin = event.sender.chat_id, self._contacts.admin_chat_id
        async with begin(self._engine) as conn:
            applied = await technicians.apply(
                conn,
                telegram_id=event.sender.user_id,
                name=application.name,
                phone=application.phone,
                services=application.services,
                areas=application.areas,
                latitude=application.latitude,
                longitude=application.longitude,
                lang=application.lang,
            )
            if applied.stored and admin is not None:
                applicant = operators.Applicant(
                    technician_id=applied.technician_id,
                    name=application.name,
                    phone=application.phone,
                    services=application.services,
                    areas=application.areas,
                    located=application.latitude is not None,
                )
                notice = operators.application(admin, "en", applicant)
                await outbox.enqueue(
                    conn,
                    chat_id=admin,
                    kind=outbox.APPLICATION,
                    body=to_json(notice),
                    technician_id=applied.technician_id,
                )
        if not applied.stored:
            # Approved or pending meanwhile (another device, the CLI): nothing was changed.
            if applied.status == technicians.PENDING:
                reply.send(registration.pending(chat, application.lang))
            else:
                reply.send(
                    registration.already_registered(
                        chat, application.lang, available=applied.available
                    )
                )
            return
        reply.send(registration.submitted(chat, application.lang))
        reply.followups.append(self._outbox_ready_later)
        if admin is None:
            log.warning(
                "technician application #%d stored, but no operators' chat is set",
                applied.technician_id,
            )
        else:
            log.info("technician application #%d stored", applied.technician_id)

    async def _decide_application(
        self, reply: Reply, event: Inbound, decision: operators.ApplicationDecision
    ) -> None:
        """Approve or reject an application from the operators' chat; the applicant is told.

        Only the operators' chat reaches here (``_for_operators``); the button names the
        application, and the database says whether it still waits for a decision.
        """
        chat, message_id = event.sender.chat_id, press_message(event)
        lang = pick_language(event.sender.language_code)
        decided = False
        async with begin(self._engine) as conn:
            technician = await technicians.load(conn, technician_id=decision.technician_id)
            # An applicant who erased themselves keeps an anonymous row with no chat.
            if technician is not None and technician.telegram_id <= 0:
                technician = None
            if technician is not None:
                decided = await technicians.decide(
                    conn, technician_id=decision.technician_id, approve=decision.approve
                )
            if technician is not None and decided:
                told_lang = await self._language_of(technician)
                told = (
                    registration.approved(technician.telegram_id, told_lang)
                    if decision.approve
                    else registration.rejected(technician.telegram_id, told_lang)
                )
                await outbox.enqueue(
                    conn, chat_id=technician.telegram_id, kind="status", body=to_json(told)
                )
        if technician is None or not decided:
            status = technician.status if technician is not None else None
            reply.send(operators.application_settled(chat, lang, status))
            return
        applicant = operators.Applicant(
            technician_id=technician.id or 0,
            name=technician.name or "",
            phone=technician.phone or "",
            services=tuple(slug for slug in technician.services.split(",") if slug),
            areas=tuple(slug for slug in technician.areas.split(",") if slug),
            located=technician.base_latitude is not None,
        )
        reply.send(
            operators.application_decided(
                chat,
                "en",
                applicant,
                approved=decision.approve,
                by=event.sender.first_name,
                message_id=message_id,
            )
        )
        reply.followups.append(self._outbox_ready_later)
        verdict = "approved" if decision.approve else "rejected"
        log.info("technician #%d %s by an operator", technician.id or 0, verdict)

    async def _availability(
        self, user_id: int, chat: int, lang: str, available: bool, message_id: int | None = None
    ) -> Outbound:
        """/available, /away or their button: switch an approved technician's offers."""
        async with begin(self._engine) as conn:
            changed = await technicians.set_available(
                conn, telegram_id=user_id, available=available
            )
            found = changed or await technicians.find(conn, telegram_id=user_id)
        if changed is not None:
            log.info("technician #%d is %s", changed.id or 0, "available" if available else "away")
            return registration.availability(
                chat, lang, available=available, active=changed.active, message_id=message_id
            )
        if found is not None and found.status == technicians.PENDING:
            return registration.pending(chat, lang)
        return registration.only_technicians(chat, lang)

    # --- actions ----------------------------------------------------------------------------

    async def _carry_out(self, outcome: booking.Outcome, event: Inbound) -> Reply:
        reply = outcome.reply
        for action in outcome.actions:
            if isinstance(action, booking.GiveConsent):
                consent = customers.consent(
                    self._engine.dialect.name,
                    telegram_id=event.sender.user_id,
                    lang=_lang(outcome.session),
                    version=action.version,
                    at=self._clock(),
                )
                await self._writes([consent])
            elif isinstance(action, booking.ShowPolicy):
                chat = event.sender.chat_id
                reply.effects[0:0] = self._policy(chat, _lang(outcome.session))
            elif isinstance(action, booking.PlaceOrder):
                await self._place_order(action.draft, event, reply)
        return reply

    async def _place_order(self, draft: booking.OrderDraft, event: Inbound, reply: Reply) -> None:
        chat = event.sender.chat_id
        async with begin(self._engine) as conn:
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
            escalated = created and not await self._offer_in(
                conn, order, confirmation=confirmed, customer_chat=chat, fresh=True
            )
            if escalated:
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
        async with begin(self._engine) as conn:
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
        async with connect(self._engine) as conn:
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
        async with begin(self._engine) as conn:
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
        customer_chat: int | None = None,
        fresh: bool = False,
    ) -> bool:
        """In the caller's transaction, offer ``order`` to the best candidate left.

        When no one is left, the order goes to the operators and the customer is told (after
        ``confirmation``). A ``fresh`` order was just placed: no one was offered it yet.
        Returns whether someone was offered.
        """
        tried: set[int] = (
            set() if fresh else await orders.offered_technicians(conn, order_id=order.id)
        )
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
        if customer_chat is None:
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
                kind=outbox.ESCALATION,
                body=to_json(jobs.admin_unassigned(admin, view, choices)),
                order_id=order.id,
                customer_id=order.customer_id,
            )
        log.info("order %s escalated to the operators (no technician left)", order.reference)
        return False

    async def _language_of(self, technician: Technician) -> str:
        session = await self._store.load(technician.telegram_id)
        return session.lang or technician.lang

    async def _push(self, message: Outbound) -> list[int]:
        try:
            return await self._notifier.push(message)
        except Exception:  # a notice that fails must not fail the sender's update
            log.exception("push to a chat failed")
            return []


async def _nothing() -> None:
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


def _technician_record(technician: Technician) -> datarights.TechnicianRecord:
    """Return a technician's own record, in plain values, for /mydata."""
    return datarights.TechnicianRecord(
        name=technician.name,
        phone=technician.phone,
        services=tuple(slug for slug in technician.services.split(",") if slug),
        areas=tuple(slug for slug in technician.areas.split(",") if slug),
        active=technician.active,
        lang=technician.lang,
        registered_at=technician.created_at,
    )


def _standing(technician: Technician, chat: int, lang: str) -> Outbound:
    """Where an approved or pending technician stands, for /register sent again."""
    if technician.status == technicians.PENDING:
        return registration.pending(chat, lang)
    return registration.already_registered(chat, lang, available=technician.available)


def _technician_view(technician: Technician) -> TechnicianView:
    return TechnicianView(
        technician_id=technician.id or 0,
        chat_id=technician.telegram_id,
        name=technician.name or "",
        phone=technician.phone or "",
        lang=technician.lang,
    )
