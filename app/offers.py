"""Offering a job: to the best technician left, on to the next on silence or a decline.

An offer is a row with a due time (``job_offers.expires_at``) and its notice is an outbox row,
both written in the transaction that decides them. When no one is left, the customer is told
our team will call and the operators' chat gets the order with buttons to assign it by hand.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from app import views
from app.core import Core, Turn
from app.notices import JOB_OFFER, JOB_UPDATE, notify
from conversations import common, job_status, jobs
from conversations import orders as order_texts
from conversations.events import Address, ButtonPress
from conversations.outbound import Outbound
from conversations.router import Outcome
from storage import customers, job_messages, job_offers, matching, orders, outbox, technicians
from storage.database import Tx
from storage.models import OrderStatus, Technician
from storage.orders import StoredOrder

log = logging.getLogger(__name__)


async def offer_next(
    core: Core,
    tx: Tx,
    order: StoredOrder,
    *,
    confirmation: Outbound | None = None,
    customer_chat: Address | None = None,
    fresh: bool = False,
) -> bool:
    """In ``tx``, offer ``order`` to the best candidate left; return whether someone was.

    When no one is left, the order goes to the operators and the customer is told (after
    ``confirmation``, which then goes the same way, to keep them in order). A ``fresh`` order
    was just placed: no one was offered it yet.
    """
    tried: set[int] = (
        set() if fresh else await job_offers.offered_technicians(tx, order_id=order.id)
    )
    pin = (
        (order.latitude, order.longitude)
        if order.latitude is not None and order.longitude is not None
        else None
    )
    technician = await matching.match(
        tx, service=order.service, area=order.area, exclude=tried, pin=pin
    )
    chat = technicians.address(technician) if technician is not None else None
    if technician is not None and chat is not None:
        offer_id = await job_offers.offer(
            tx,
            order_id=order.id,
            technician_id=technician.id or 0,
            chat=chat,
            expires_at=core.clock() + core.offer_timeout,
        )
        lang = await core.language_of(chat, technician.lang)
        notice = jobs.job_notice(lang, views.order_view(order, contact=False), offer_id)
        await notify(
            tx,
            chat,
            notice,
            kind="offer",
            offer_id=offer_id,
            order_id=order.id,
            purpose=JOB_OFFER,
        )
        return True
    await orders.mark_unassigned(tx, order_id=order.id)
    view = views.order_view(order, contact=True)
    if customer_chat is None:
        customer_chat = await customers.address_of(tx, customer_id=order.customer_id)
    if customer_chat is not None:
        if confirmation is not None:
            await notify(tx, customer_chat, confirmation)
        told = order_texts.team_will_call(order.lang, view)
        await notify(tx, customer_chat, told, order_id=order.id, purpose=JOB_UPDATE)
    operators = core.contacts.operators
    if operators is not None:
        able = await technicians.able(tx, service=order.service, area=order.area)
        # Each person's channel beside their name: the operators reach them there.
        choices = [
            (candidate.id or 0, jobs.with_channel(candidate.name or "?", candidate.channel))
            for candidate in able
        ]
        channel = customer_chat.channel if customer_chat is not None else None
        await notify(
            tx,
            operators,
            jobs.admin_unassigned(view, choices, channel=channel),
            kind=outbox.ESCALATION,
            order_id=order.id,
            customer_id=order.customer_id,
        )
    log.info("order %s escalated to the operators (no technician left)", order.reference)
    return False


async def resume_stalled(core: Core) -> int:
    """Offer every order that waits for an offer (the process died in between); how many."""
    async with core.transaction() as tx:
        waiting = await orders.stalled(tx)
        for order_id in waiting:
            order = await orders.load(tx, order_id=order_id)
            if order is not None:
                await offer_next(core, tx, order)
    await expire_lapsed(core)
    return len(waiting)


async def expire_lapsed(core: Core) -> int:
    """Move on from every offer left unanswered past its time; return how many."""
    async with core.db.read() as tx:
        lapsed = await job_offers.lapsed_offers(tx, now=core.clock())
    for offer_id in lapsed:
        await offer_lapsed(core, offer_id)
    return len(lapsed)


async def offer_lapsed(core: Core, offer_id: int) -> None:
    """Close a pending offer without an answer and offer the order to the next candidate.

    Also what happens when the offer's notice cannot reach the technician at all.
    """
    async with core.transaction() as tx:
        if not await job_offers.expire_offer(tx, offer_id=offer_id):
            return  # answered in the meantime: nothing to do
        offer = await job_offers.load_offer(tx, offer_id=offer_id)
        order = await orders.load(tx, order_id=offer.order_id) if offer else None
        if offer is None or order is None:  # pragma: no cover - foreign keys
            return
        # A notice still in the outbox is withdrawn; one already seen is marked as passed.
        withdrawn = await outbox.cancel_offer_notice(tx, offer_id=offer_id)
        if not withdrawn and offer.message_id is not None and offer.chat is not None:
            technician = await technicians.load(tx, technician_id=offer.technician_id)
            lang = await core.language_of(offer.chat, technician.lang if technician else "bn")
            view = views.order_view(order, contact=False)
            for shown in await notice_copies(tx, offer):
                await notify(tx, offer.chat, jobs.offer_passed(lang, view, shown))
        await offer_next(core, tx, order)


async def notice_copies(tx: Tx, offer: job_offers.OfferRow) -> list[str]:
    """Every message that shows the offer's notice: the one it names, and the copies.

    A copy is left by an attempt whose outcome was unknown (the notice arrived, the answer
    did not): it carries the same live buttons, so it is edited too when the offer ends.
    """
    found = [] if offer.message_id is None else [offer.message_id]
    copies = await job_messages.offer_copies(tx, offer_id=offer.id)
    return found + [copy for copy in copies if copy not in found]


async def answer_offer(turn: Turn, press: ButtonPress) -> Outcome:
    """Accept or Decline on a job notice: checked against the database, never the button."""
    outcome = Outcome(turn.session.copy())
    reply, lang = outcome.reply, turn.lang
    parsed = jobs.parse_button(press.data)
    if parsed is None:
        reply.send(common.stale_button(lang))
        return outcome
    async with turn.transaction() as tx:
        offer = await job_offers.load_offer(tx, offer_id=parsed.offer_id)
        technician = await technicians.find(tx, person=turn.person)
        # Authorise from the database: the button's data says which offer, never who may.
        if offer is None or technician is None or offer.technician_id != technician.id:
            reply.send(jobs.not_yours(lang))
            return outcome
        if not await job_offers.answer(tx, offer_id=offer.id, accept=parsed.accept):
            reply.send(await _closed(tx, offer.id, technician.id or 0, lang))
            return outcome
        order = await orders.load(tx, order_id=offer.order_id)
        if order is None:  # pragma: no cover - a foreign key guarantees it
            reply.send(jobs.job_gone(lang))
            return outcome
        if parsed.accept:
            await orders.assign(tx, order_id=order.id, technician_id=offer.technician_id)
            await hand_over(turn.core, tx, order, technician, lang, offer_id=offer.id)
        else:
            await offer_next(turn.core, tx, order)
        view = views.order_view(order, contact=False)
        if await outbox.cancel_offer_notice(tx, offer_id=offer.id) and press.message_id:
            # Its notice was still waiting for a retry, yet pressed: an attempt whose outcome
            # was unknown delivered it. That message is the notice; no other will follow.
            await job_offers.set_offer_message(tx, offer_id=offer.id, message_id=press.message_id)
        # The other copies of the notice lose their buttons too (the pressed one is the reply).
        answered = jobs.job_taken if parsed.accept else jobs.job_declined
        for shown in await notice_copies(tx, offer):
            if shown != press.message_id and offer.chat is not None:
                await notify(tx, offer.chat, answered(lang, view, shown))
    if parsed.accept:
        reply.send(jobs.job_taken(lang, view, press.message_id))
        reply.toast = jobs.accepted_toast(lang)
    else:
        reply.send(jobs.job_declined(lang, view, press.message_id))
    return outcome


async def _closed(tx: Tx, offer_id: int, technician_id: int, lang: str) -> Outbound:
    """Tell a technician truthfully why the offer they pressed is closed."""
    # Read again: a press of someone else's may have closed it since it was loaded.
    offer = await job_offers.load_offer(tx, offer_id=offer_id)
    order = await orders.load(tx, order_id=offer.order_id) if offer is not None else None
    reason = jobs.why_closed(
        offer.status if offer is not None else "expired",
        str(order.status) if order is not None else None,
        order.technician_id if order is not None else None,
        technician_id,
    )
    return jobs.job_gone(lang, reason)


async def hand_over(
    core: Core,
    tx: Tx,
    order: StoredOrder,
    technician: Technician,
    lang: str,
    *,
    offer_id: int | None,
) -> None:
    """Queue the contact for the technician and the technician for the customer.

    The worker keeps the contact's message ids on the offer, so it can be deleted from the
    technician's chat if the customer is erased.
    """
    view = views.order_view(order, contact=True)
    chat = technicians.address(technician)
    if chat is not None:
        await notify(
            tx,
            chat,
            jobs.contact_card(lang, view),
            kind="contact",
            offer_id=offer_id,
            order_id=order.id,
            customer_id=order.customer_id,
        )
    customer_chat = await customers.address_of(tx, customer_id=order.customer_id)
    if customer_chat is not None:
        coming = order_texts.technician_coming(order.lang, view, views.technician_view(technician))
        await notify(tx, customer_chat, coming, order_id=order.id, purpose=JOB_UPDATE)


async def reoffer_given_back(core: Core, tx: Tx, order: StoredOrder) -> None:
    """Offer a job its technician gave back to the next candidate; tell the customer."""
    customer_chat = await customers.address_of(tx, customer_id=order.customer_id)
    if customer_chat is None:
        await offer_next(core, tx, order)
        return
    lang = await core.language_of(customer_chat, order.lang)
    # With no one left, "cannot come" goes before "the team will call" (see offer_next).
    alone = order_texts.technician_cannot_come(lang, order.reference, finding=False)
    if await offer_next(core, tx, order, confirmation=alone):
        finding = order_texts.technician_cannot_come(lang, order.reference, finding=True)
        await notify(tx, customer_chat, finding, order_id=order.id, purpose=JOB_UPDATE)


async def withdraw_offers(core: Core, tx: Tx, order: StoredOrder) -> None:
    """In a customer's cancel: pending offers lapse, the assigned technician is told."""
    view = views.order_view(order, contact=False)
    for offer in await job_offers.pending_offers(tx, order_id=order.id):
        if not await job_offers.expire_offer(tx, offer_id=offer.id):
            continue
        # As offer_lapsed: a notice still queued is withdrawn, one already seen is edited.
        withdrawn = await outbox.cancel_offer_notice(tx, offer_id=offer.id)
        if not withdrawn and offer.message_id is not None and offer.chat is not None:
            offered = await technicians.load(tx, technician_id=offer.technician_id)
            lang = await core.language_of(offer.chat, offered.lang if offered else "bn")
            for shown in await notice_copies(tx, offer):
                await notify(tx, offer.chat, jobs.offer_withdrawn(lang, view, shown))
    if order.technician_id is None or order.status not in orders.WITH_TECHNICIAN:
        return
    technician = await technicians.load(tx, technician_id=order.technician_id)
    chat = technicians.address(technician) if technician is not None else None
    if technician is None or chat is None:
        return  # a technician who left has no chat to tell
    lang = await core.language_of(chat, technician.lang)
    told = job_status.cancelled_by_customer(lang, order.reference)
    await notify(tx, chat, told, order_id=order.id, purpose=JOB_UPDATE)


def assigned(order: StoredOrder) -> StoredOrder:
    """``order`` as it stands once assigned (for the operators' message)."""
    return replace(order, status=str(OrderStatus.ASSIGNED))
