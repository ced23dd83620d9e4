"""The operators' chat: /audit, /erase, /orders, /technicians, applications, hand assignment.

Only events from the operators' chat reach here (``app/handle.py``). Every button names what
it is about (an application, an order and a technician, customers by internal id); the
database decides whether the press still holds, and the first decision wins.
"""

from __future__ import annotations

import logging

from app import erasure, offers, views
from app.core import Turn
from app.notices import notify
from app.routes import operator_button, operator_command
from conversations import common, jobs, operators, operators_board, registration
from conversations.events import ButtonPress, Command
from conversations.phone import mask, parse_bd_mobile
from conversations.router import Outcome
from storage import (
    audit,
    customer_lookup,
    customers,
    job_offers,
    order_board,
    orders,
    technicians,
)
from storage.models import OrderStatus

log = logging.getLogger(__name__)


def _answer(turn: Turn) -> Outcome:
    return Outcome(turn.session)


@operator_command("audit")
async def audit_log(turn: Turn, command: Command) -> Outcome:
    """/audit: the latest data-rights actions, without anything personal."""
    async with turn.read() as tx:
        events = await audit.recent(tx)
    lines = [
        operators.AuditLine(e.at, e.kind, e.actor, e.subject, e.detail, e.actor_ref)
        for e in events
    ]
    outcome = _answer(turn)
    outcome.reply.send(operators.audit_log(turn.lang, lines))
    return outcome


@operator_command("erase")
async def erase_request(turn: Turn, command: Command) -> Outcome:
    """/erase <phone>: find the customer by the phone's blind index, ask to confirm."""
    outcome, lang = _answer(turn), turn.lang
    phone = parse_bd_mobile(command.args) if command.args else None
    if phone is None:
        outcome.reply.send(operators.erase_usage(lang, invalid=bool(command.args)))
        return outcome
    async with turn.read() as tx:
        found = await customer_lookup.by_phone(tx, phone=phone)
        chosen = found[: operators.MAX_ACCOUNTS]
        ids = [row.id or 0 for row in chosen]
        count = await customer_lookup.order_count(tx, customer_ids=ids) if ids else 0
    if not chosen:
        outcome.reply.send(operators.erase_not_found(lang))
        return outcome
    # The button carries internal ids and a check of the rows, never the number.
    outcome.reply.send(
        operators.erase_confirm(
            lang,
            masked_phone=mask(phone),
            accounts=len(chosen),
            orders=count,
            more_accounts=len(found) > len(chosen),
            data=operators.erase_button_data(ids, customer_lookup.check(chosen)),
        )
    )
    return outcome


@operator_button(operators.ERASE)
async def erase_confirmed(turn: Turn, press: ButtonPress) -> Outcome:
    """The *Yes* under /erase: the customers are erased as their own /deleteme would."""
    outcome, lang, message_id = _answer(turn), turn.lang, press.message_id
    request = operators.parse_erase_button(press.data)
    if request is None:
        outcome.reply.send(common.stale_button(lang))
        return outcome
    async with turn.read() as tx:
        rows = await customer_lookup.by_ids(tx, customer_ids=request.customer_ids)
    same = len(rows) == len(request.customer_ids)
    if not same or customer_lookup.check(rows) != request.check:
        outcome.reply.send(operators.erase_stale(lang, message_id))
        return outcome
    # The customer is not told: they asked through the operators (a call), may well have
    # blocked the bot, and a message would reach someone who asked to be forgotten.
    for row in rows:
        person = customers.address(row)
        await erasure.erase_customer(
            turn, person, kind="erase_by_operator", actor="operator", actor_ref=str(turn.person)
        )
    outcome.reply.send(operators.erased(lang, message_id))
    log.info("an operator erased %d customer account(s)", len(rows))
    return outcome


@operator_button("keep")
async def erase_kept(turn: Turn, press: ButtonPress) -> Outcome:
    """The *No* under /erase."""
    outcome = _answer(turn)
    outcome.reply.send(operators.erase_kept(turn.lang, press.message_id))
    return outcome


@operator_command("orders")
async def open_orders(turn: Turn, command: Command) -> Outcome:
    """/orders: the open orders by state, oldest first, without customer data."""
    async with turn.read() as tx:
        rows = await order_board.open_orders(tx)
        counts = await order_board.open_counts(tx)
    lines = [
        operators_board.OpenOrderLine(
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
    outcome = _answer(turn)
    outcome.reply.send(operators_board.open_orders(turn.lang, lines, counts, turn.core.clock()))
    return outcome


@operator_command("technicians")
async def technicians_list(turn: Turn, command: Command) -> Outcome:
    """/technicians: who works with us, available or not, open jobs, rating; phones masked."""
    async with turn.read() as tx:
        rows = await technicians.overview(tx)
    lines = [
        operators_board.TechnicianLine(
            technician_id=row.id,
            name=row.name,
            phone=row.phone,
            status=row.status,
            active=row.active,
            available=row.available,
            open_jobs=row.open_jobs,
            rating=row.rating,
            ratings=row.ratings,
            channel=row.channel,
        )
        for row in rows
    ]
    outcome = _answer(turn)
    outcome.reply.send(operators_board.technicians_list(turn.lang, lines))
    return outcome


@operator_button(operators.APPROVE)
@operator_button(operators.REJECT)
async def decide_application(turn: Turn, press: ButtonPress) -> Outcome:
    """Approve or Reject under an application: the applicant is told, the first press wins."""
    outcome, lang = _answer(turn), turn.lang
    decision = operators.parse_application_button(press.data)
    if decision is None:
        outcome.reply.send(common.stale_button(lang))
        return outcome
    decided = False
    async with turn.transaction() as tx:
        technician = await technicians.load(tx, technician_id=decision.technician_id)
        # An applicant who erased themselves keeps an anonymous row with no address.
        chat = technicians.address(technician) if technician is not None else None
        if chat is None:
            technician = None
        if chat is not None and chat == turn.person:
            # An operator who applied never decides their own application.
            outcome.reply.send(operators.own_application(lang))
            return outcome
        if technician is not None and chat is not None:
            decided = await technicians.decide(
                tx, technician_id=decision.technician_id, approve=decision.approve
            )
            if decided:
                await audit.record(
                    tx,
                    kind="approve" if decision.approve else "reject",
                    actor="operator",
                    actor_ref=str(turn.person),
                    subject=audit.technician_subject(decision.technician_id),
                    at=turn.core.clock(),
                )
                told_lang = await turn.core.language_of(chat, technician.lang)
                told = (
                    registration.approved(told_lang)
                    if decision.approve
                    else registration.rejected(told_lang)
                )
                await notify(tx, chat, told)
    if technician is None or not decided:
        status = technician.status if technician is not None else None
        outcome.reply.send(operators.application_settled(lang, status))
        return outcome
    applicant = operators.Applicant(
        technician_id=technician.id or 0,
        name=technician.name or "",
        phone=technician.phone or "",
        services=views.slugs(technician.services),
        areas=views.slugs(technician.areas),
        located=technician.base_latitude is not None,
        channel=technician.channel,
    )
    outcome.reply.send(
        operators.application_decided(
            "en",
            applicant,
            approved=decision.approve,
            by=turn.event.sender.first_name,
            message_id=press.message_id,
        )
    )
    verdict = "approved" if decision.approve else "rejected"
    log.info("technician #%d %s by an operator", technician.id or 0, verdict)
    return outcome


@operator_button("as")
async def assign_by_hand(turn: Turn, press: ButtonPress) -> Outcome:
    """An escalation's "Assign <name>": the order must still wait, the technician be able."""
    outcome, lang, message_id = _answer(turn), turn.lang, press.message_id
    assignment = jobs.parse_assign(press.data)
    if assignment is None:
        outcome.reply.send(common.stale_button(lang))
        return outcome
    order_id, technician_id = assignment
    async with turn.transaction() as tx:
        order = await orders.load(tx, order_id=order_id)
        technician = await technicians.load(tx, technician_id=technician_id)
        chat = technicians.address(technician) if technician is not None else None
        if order is None:
            outcome.reply.send(common.stale_button(lang))
            return outcome
        if (
            technician is None
            or chat is None
            or technician.status != technicians.APPROVED
            or not technician.active
        ):
            outcome.reply.send(operators_board.assign_unable(lang, technician_id))
            return outcome
        if not await orders.assign(
            tx, order_id=order.id, technician_id=technician_id, allowed=(OrderStatus.UNASSIGNED,)
        ):
            current = await orders.load(tx, order_id=order.id) or order
            outcome.reply.send(operators_board.assign_stale(lang, order.reference, current.status))
            return outcome
        # An accepted offer of record: the job's messages in the technician's chat are kept on
        # it (found again if the customer is erased), and it keeps them out of re-offers.
        offer_id = await job_offers.record_assignment(
            tx, order_id=order.id, technician_id=technician_id, chat=chat
        )
        await audit.record(
            tx,
            kind="assign",
            actor="operator",
            actor_ref=str(turn.person),
            subject=audit.order_subject(order.id),
            detail=audit.technician_subject(technician_id),
            at=turn.core.clock(),
        )
        told_lang = await turn.core.language_of(chat, technician.lang)
        notice = jobs.assigned_to_you(told_lang, views.order_view(order, contact=False))
        # Queued as the offer's notice, so the worker records its message id on the offer.
        await notify(tx, chat, notice, kind="offer", offer_id=offer_id, order_id=order.id)
        await offers.hand_over(turn.core, tx, order, technician, told_lang, offer_id=offer_id)
    shown = views.order_view(offers.assigned(order), contact=False)
    outcome.reply.send(jobs.assigned_by_operator(shown, technician.name or "?", message_id))
    outcome.reply.toast = operators_board.assigned_toast(lang)
    log.info("order %s assigned by an operator to technician #%d", order.reference, technician_id)
    return outcome
