"""Erasure: a customer's /deleteme (or an operator's /erase), and a technician who leaves.

Everything personal goes in one transaction, recorded in the audit log, and so do the rows
that take the person's data out of other chats: their contact leaves technicians' chats
(deleted, or redacted where the channel keeps a message), what they wrote to the operators
leaves the operators' chat, the technician of an open job is told it is off, a technician's
jobs go to the next candidate. Then the database is made to forget its own older copies
(SQLite's log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from app import handoff, offers
from app.core import Turn
from app.notices import Withdrawal, notify, withdraw
from app.routes import button
from conversations import datarights, operators, redaction
from conversations.events import Address, ButtonPress
from conversations.outbound import Outbound
from conversations.router import Outcome
from storage import audit, customers, erasure, job_messages, orders, technician_erasure
from storage.database import Tx

log = logging.getLogger(__name__)

#: How a job message that cannot be deleted reads instead: (lang, reference, id, pin left).
Redaction = Callable[..., Outbound]


@button(data=datarights.CONFIRM_DELETE, forgets=True)
async def erase_me(turn: Turn, press: ButtonPress) -> Outcome:
    """/deleteme's *Yes*: the customer's data is erased; no session is kept after it."""
    outcome = Outcome(turn.session)
    if await erase_customer(turn, turn.person, kind="erase", actor="customer"):
        outcome.reply.send(datarights.deleted(turn.lang))
        log.info("a customer erased their data")
    else:
        outcome.reply.send(datarights.nothing_to_delete(turn.lang))
    return outcome


async def erase_customer(
    turn: Turn,
    person: Address,
    *,
    kind: audit.Kind,
    actor: audit.Actor,
    actor_ref: str | None = None,
) -> bool:
    """Erase ``person``'s customer data and record it, in one transaction; False if none.

    A conversation with nothing in it (a language choice) goes too, but is not "data held".
    """
    async with turn.transaction() as tx:
        held = await _erase_customer_in(
            turn, tx, person, kind=kind, actor=actor, actor_ref=actor_ref
        )
    turn.core.sessions.forget(person)
    await turn.core.db.after_erasure()
    return held


async def _erase_customer_in(
    turn: Turn,
    tx: Tx,
    person: Address,
    *,
    kind: audit.Kind,
    actor: audit.Actor,
    actor_ref: str | None = None,
) -> bool:
    customer = await customers.get(tx, person=person)
    # Read first: once erased, nothing links the orders (and their messages) to them.
    left = job_messages.CustomerJobs()
    if customer is not None:
        left = await job_messages.of_customer(tx, customer_id=customer.id or 0)
    # Their conversations with the operators: the threads, and their messages in the chat.
    talked = await handoff.erase(turn, tx, person)
    if not await erasure.erase_customer(tx, person=person) and not talked:
        return False
    subject = audit.token_subject() if customer is None else audit.customer_subject(customer.id)
    detail = f"orders={len(left.order_ids)}"
    await audit.record(
        tx, kind=kind, actor=actor, subject=subject, detail=detail, actor_ref=actor_ref
    )
    # Their contact leaves technicians' chats; assigned technicians hear the job is off.
    await _withdraw_jobs(turn, tx, left.messages, redaction.job_erased)
    for job in left.assigned:
        lang = await turn.core.language_of(job.chat, job.lang)
        await notify(tx, job.chat, redaction.job_cancelled(lang, job.reference))
    return True


@button(data=redaction.CONFIRM_TECHNICIAN_DELETE, forgets=True)
async def erase_technician(turn: Turn, press: ButtonPress) -> Outcome:
    """A technician's /deleteme *Yes*: they leave, and their customer data goes too."""
    core, lang = turn.core, turn.lang
    async with turn.transaction() as tx:
        gone = await technician_erasure.erase_technician(tx, person=turn.person)
        if gone is not None:
            await audit.record(
                tx,
                kind="technician_erase",
                actor="technician",
                subject=audit.technician_subject(gone.technician_id),
                detail=f"jobs_unassigned={len(gone.unassigned)}",
            )
        # What they hold as a customer goes too, and their conversation with it (and every
        # notice to their chat: so what takes their job messages back is queued after).
        held = await _erase_customer_in(turn, tx, turn.person, kind="erase", actor="technician")
        if gone is not None:
            await _after_technician_left(turn, tx, gone)
    core.sessions.forget(turn.person)
    await core.db.after_erasure()
    outcome = Outcome(turn.session)
    if gone is None:
        outcome.reply.send(
            datarights.deleted(lang) if held else datarights.nothing_to_delete(lang)
        )
    else:
        outcome.reply.send(redaction.technician_deleted(lang))
        log.info("a technician erased their data (%d jobs unassigned)", len(gone.unassigned))
    return outcome


async def _after_technician_left(
    turn: Turn, tx: Tx, gone: technician_erasure.TechnicianErasure
) -> None:
    """In the erasure's transaction: their job messages go, operators hear, offers move on."""
    await _withdraw_jobs(turn, tx, gone.messages, redaction.job_withdrawn)
    for chat, message_id in gone.applications:
        # The operators' copy of their application shows their name and phone.
        replacement = operators.application_erased("en", gone.technician_id, message_id)
        await withdraw(tx, chat, Withdrawal(messages=(message_id,), text=replacement.text))
    operators_chat = turn.core.contacts.operators
    if operators_chat is not None:
        told = operators.technician_left("en", gone.technician_id, gone.unassigned)
        await notify(tx, operators_chat, told)
    for order_id in gone.reoffer:
        order = await orders.load(tx, order_id=order_id)
        if order is not None:
            await offers.offer_next(turn.core, tx, order)


async def _withdraw_jobs(
    turn: Turn, tx: Tx, messages: Sequence[job_messages.JobMessages], render: Redaction
) -> None:
    """Queue the removal of job messages; where one stays, ``render``'s text replaces it."""
    for job in messages:
        lang = await turn.core.language_of(job.chat, job.lang)
        ids = tuple(
            found for found in (job.contact_id, job.notice_id, *job.view_ids) if found is not None
        )
        pin_note = None
        if job.location_id is not None:
            pin_note = render(lang, job.reference, None, pin_left=True).text
        withdrawal = Withdrawal(
            messages=ids,
            text=render(lang, job.reference, None).text,
            pin=job.location_id,
            text_pin_left=pin_note,
        )
        await withdraw(tx, job.chat, withdrawal)
