"""A technician's jobs: /jobs, and the buttons that move a job (On the way, Done, Cancel).

Every press is checked against the database: the job must be theirs, in a state that allows
the step; each change is conditional (of two presses, one wins) and the customer's notice is
queued with it.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from app import offers, views
from app.core import Turn
from app.notices import JOB_UPDATE, notify
from app.routes import button, command
from conversations import job_status, jobs, rating, router
from conversations import orders as order_texts
from conversations.events import ButtonPress, Command
from conversations.outbound import Outbound, Reply
from conversations.router import Outcome
from storage import customers, job_messages, orders, technicians
from storage.database import Tx
from storage.models import OrderStatus, Technician
from storage.orders import StoredOrder

log = logging.getLogger(__name__)


@command("jobs")
async def open_jobs(turn: Turn, command: Command) -> Outcome:
    """/jobs: one message per open job, with its contact and the buttons for its next step."""
    outcome = Outcome(turn.session.copy())
    async with turn.read() as tx:
        technician = await technicians.find(tx, person=turn.person)
        if technician is None:
            outcome.reply.send(job_status.not_a_technician(turn.lang))
            return router.resume(outcome, turn.context())
        found = await orders.open_for_technician(tx, technician_id=technician.id or 0)
        shown = [views.order_view(order, contact=True) for order in found]
        accepted = await job_messages.accepted_offers(
            tx, technician_id=technician.id or 0, order_ids=[view.order_id for view in shown]
        )
    outcome.reply.effects.extend(job_status.open_jobs(turn.lang, shown, accepted))
    return router.resume(outcome, turn.context())


@button(jobs.PREFIX)
async def job_button(turn: Turn, press: ButtonPress) -> Outcome:
    """A button on a job: Accept / Decline on an offer, or the next step of a job taken."""
    status = job_status.parse_status_button(press.data)
    if status is None:
        outcome = await offers.answer_offer(turn, press)
    else:
        outcome = Outcome(turn.session.copy())
        outcome.reply = await _move(turn, status, press.message_id)
    return router.resume(outcome, turn.context())


async def _move(turn: Turn, press: job_status.StatusButton, message_id: str | None) -> Reply:
    """On the way / Done / Cancel (and its reason) on a job of the presser's."""
    reply, lang = Reply(), turn.lang
    async with turn.transaction() as tx:
        technician = await technicians.find(tx, person=turn.person)
        order = await orders.load(tx, order_id=press.order_id)
        # Authorised from the database: the button names a job, never who may move it.
        if technician is None or order is None or order.technician_id != technician.id:
            reply.send(job_status.job_not_yours(lang))
            return reply
        if press.action == job_status.DONE and order.status == OrderStatus.ASSIGNED:
            reply.send(job_status.not_on_the_way_yet(lang, order.reference))
            return reply
        shown = await _step(turn, tx, order, technician, press, message_id=message_id)
        if shown is None:
            # Pressed twice, or the job moved on meanwhile: say where it stands.
            current = await orders.load(tx, order_id=order.id) or order
            reply.send(job_status.job_moved_on(lang, order.reference, str(current.status)))
            return reply
        if press.action in (job_status.WAY, job_status.CANCEL, job_status.KEEP):
            # The job message keeps the contact; should it come out as a new message (the old
            # one gone), erasure must find that one too.
            accepted = await job_messages.accepted_offers(
                tx, technician_id=technician.id or 0, order_ids=[order.id]
            )
            shown = replace(shown, shows_offer=accepted.get(order.id))
    reply.send(shown)
    if press.action in (job_status.WAY, job_status.DONE, job_status.REASON):
        log.info("order %s: technician pressed %s", order.reference, press.action)
    return reply


async def _step(
    turn: Turn,
    tx: Tx,
    order: StoredOrder,
    technician: Technician,
    press: job_status.StatusButton,
    *,
    message_id: str | None,
) -> Outbound | None:
    """Carry out a job button in ``tx``; None when the job's state forbids it."""
    lang, technician_id = turn.lang, technician.id or 0
    if press.action in (job_status.CANCEL, job_status.KEEP):
        if order.status not in orders.WITH_TECHNICIAN:
            return None
        view = views.order_view(order, contact=True)
        if press.action == job_status.CANCEL:
            return job_status.ask_cancel_reason(lang, view, message_id)
        return job_status.job_kept(lang, view, message_id)
    if press.action == job_status.REASON:
        reason = f"technician:{press.reason}"
        if not await orders.give_back(
            tx, order_id=order.id, technician_id=technician_id, reason=reason
        ):
            return None
        await offers.reoffer_given_back(turn.core, tx, replace(order, status=str(OrderStatus.NEW)))
        view = views.order_view(order, contact=False)
        return job_status.job_given_back(lang, view, press.reason or "", message_id)
    way = press.action == job_status.WAY
    moved = await orders.move_assigned(
        tx,
        order_id=order.id,
        technician_id=technician_id,
        allowed=(OrderStatus.ASSIGNED,) if way else (OrderStatus.ON_THE_WAY,),
        status=OrderStatus.ON_THE_WAY if way else OrderStatus.DONE,
    )
    if not moved:
        return None
    order = replace(order, status=str(OrderStatus.ON_THE_WAY if way else OrderStatus.DONE))
    customer_chat = await customers.address_of(tx, customer_id=order.customer_id)
    if customer_chat is not None:
        told_lang = await turn.core.language_of(customer_chat, order.lang)
        told = (
            order_texts.technician_on_the_way(
                told_lang, views.order_view(order, contact=False), technician.name or ""
            )
            if way
            else rating.ask_rating(told_lang, order.reference, order.id)
        )
        await notify(tx, customer_chat, told, order_id=order.id, purpose=JOB_UPDATE)
    if way:
        return job_status.on_the_way_set(lang, views.order_view(order, contact=True), message_id)
    return job_status.done_set(lang, views.order_view(order, contact=False), message_id)
