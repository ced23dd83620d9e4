"""Data rights: /privacy and consent, /mydata with its download and corrections, /deleteme.

What is held is gathered from the database each time, decrypted, never cached; every export
and correction is recorded in the audit log in its own transaction. The erasure itself, after
/deleteme's *Yes*, is ``app/erasure.py``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from app import views
from app.core import Turn
from app.notices import notify
from app.routes import action, button, command
from conversations import common, corrections, datarights, privacy, redaction, router
from conversations.booking import GiveConsent, ShowPolicy
from conversations.events import ButtonPress, Command
from conversations.outbound import Document, Outbound
from conversations.router import Outcome
from conversations.session import IDLE, SaveCorrection
from storage import audit, customers, job_messages, orders, technicians
from storage.database import Tx

log = logging.getLogger(__name__)


def policy(turn: Turn) -> list[Outbound]:
    """The privacy policy messages, with the company's contact filled in."""
    contacts = turn.core.contacts
    return privacy.policy_messages(turn.lang, contacts.support_phone, contacts.support_email)


@command("privacy")
async def show_privacy(turn: Turn, command: Command) -> Outcome:
    """/privacy: the summary, the Bengali original and our English translation."""
    outcome = Outcome(turn.session.copy())
    outcome.reply.effects.extend(policy(turn))
    return router.resume(outcome, turn.context())


@action(ShowPolicy)
async def policy_first(turn: Turn, outcome: Outcome, asked: ShowPolicy) -> None:
    """*Read the policy* at the consent step: the policy, then the question again."""
    outcome.reply.effects[0:0] = policy(turn)


@action(GiveConsent)
async def consent(turn: Turn, outcome: Outcome, given: GiveConsent) -> None:
    """Store the agreement to the policy, with the policy's date and the time."""
    write = customers.consent(
        turn.core.db.dialect,
        person=turn.person,
        lang=outcome.session.lang or "bn",
        version=given.version,
        at=turn.core.clock(),
    )
    await turn.core.db.write([write])


@command("mydata")
async def my_data(turn: Turn, command: Command) -> Outcome:
    """/mydata: everything held, in plain words, with the buttons to correct and download."""
    async with turn.read() as tx:
        held = await _held(turn, tx)
    outcome = Outcome(turn.session.copy())
    outcome.reply.send(datarights.my_data(turn.lang, held))
    return router.resume(outcome, turn.context())


async def _held(turn: Turn, tx: Tx) -> datarights.HeldData:
    """Gather everything held about the person, decrypted, for /mydata and its download."""
    customer = await customers.get(tx, person=turn.person)
    record, shown = None, []
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
        found = await orders.all_for_customer(tx, customer_id=customer.id or 0)
        shown = [views.order_view(order, contact=True) for order in found]
    technician = await technicians.find(tx, person=turn.person)
    session, conversation = turn.session, None
    if session.flow != IDLE:
        answers = dict(session.data)
        if session.resume:
            answers["resume"] = session.resume  # what the flow interrupted is held too
        conversation = datarights.Conversation(session.flow, session.step, answers)
    return datarights.HeldData(
        person=turn.person,
        lang=turn.lang,
        customer=record,
        orders=tuple(shown),
        conversation=conversation,
        technician=None if technician is None else views.technician_record(technician),
    )


@button(datarights.PREFIX)
async def data_rights_button(turn: Turn, press: ButtonPress) -> Outcome:
    """A /mydata button: the download, the start of a correction; or /deleteme's *No*."""
    session, lang = turn.session, turn.lang
    outcome = Outcome(session.copy())
    field = corrections.parse_fix(press.data)
    if press.data == datarights.KEEP:
        outcome.reply.send(datarights.kept(lang))
    elif press.data == datarights.EXPORT:
        outcome.reply.send(await _export(turn))
    elif field is None:
        outcome.reply.send(common.stale_button(lang))
    else:
        # Authorised from the database: only a stored customer has details to correct.
        async with turn.read() as tx:
            customer = await customers.get(tx, person=turn.person)
        if customer is not None:
            return corrections.start(session, field)
        outcome.reply.send(datarights.my_data(lang, None))
    return router.resume(outcome, turn.context())


async def _export(turn: Turn) -> Outbound | Document:
    """Everything held as a JSON file (recorded in the audit log), or that nothing is held."""
    now = turn.core.clock()
    async with turn.transaction() as tx:
        held = await _held(turn, tx)
        if held.empty:
            return datarights.nothing_to_export(turn.lang)
        actor: audit.Actor = "customer"
        subject = audit.token_subject()
        if held.customer is not None:
            customer = await customers.get(tx, person=turn.person)
            subject = audit.customer_subject(customer.id if customer else None)
        elif held.technician is not None:
            technician = await technicians.find(tx, person=turn.person)
            actor = "technician"
            subject = audit.technician_subject(technician.id if technician else None)
        await audit.record(tx, kind="export", actor=actor, subject=subject, at=now)
    log.info("a person downloaded their data")
    return datarights.export_document(turn.lang, held, now)


@action(SaveCorrection)
async def save_correction(turn: Turn, outcome: Outcome, correction: SaveCorrection) -> None:
    """Store a corrected detail on the customer and their open orders; tell technicians."""
    lang, changes = outcome.session.lang or "bn", correction.changes()
    changed: list[orders.CorrectedOrder] = []
    async with turn.transaction() as tx:
        customer_id = await customers.correct_details(tx, person=turn.person, changes=changes)
        if customer_id is not None:
            changed = await orders.correct_open(tx, customer_id=customer_id, changes=changes)
            await audit.record(
                tx,
                kind="correct",
                actor="customer",
                subject=audit.customer_subject(customer_id),
                detail=correction.field,
                at=turn.core.clock(),
            )
            await _tell_technicians(turn, tx, customer_id, changed, correction)
    if customer_id is None:
        # Erased since the button was pressed: nothing to correct any more.
        gone = datarights.my_data(lang, None)
        outcome.reply.effects[:] = [replace(gone, remove_keys=True)]
        return
    log.info("a customer corrected their %s (%d open orders)", correction.field, len(changed))
    if changed:
        references = [order.reference for order in changed]
        outcome.reply.send(corrections.orders_updated(lang, references))


async def _tell_technicians(
    turn: Turn,
    tx: Tx,
    customer_id: int,
    changed: list[orders.CorrectedOrder],
    correction: SaveCorrection,
) -> None:
    """Queue the corrected contact for the technicians who hold the old one.

    Each notice shows the new contact: the ids it goes out under are kept on the accepted
    offer, so erasing the customer deletes it with the rest.
    """
    for order in changed:
        if order.technician_id is None or order.status not in orders.WITH_TECHNICIAN:
            continue
        accepted = await job_messages.accepted_offers(
            tx, technician_id=order.technician_id, order_ids=[order.order_id]
        )
        technician = await technicians.load(tx, technician_id=order.technician_id)
        chat = technicians.address(technician) if technician is not None else None
        if technician is None or chat is None:
            continue
        lang = await turn.core.language_of(chat, technician.lang)
        told = corrections.contact_changed(lang, order.reference, correction)
        await notify(
            tx,
            chat,
            replace(told, shows_offer=accepted.get(order.order_id)),
            order_id=order.order_id,
            customer_id=customer_id,
        )


@command("deleteme")
async def delete_me(turn: Turn, command: Command) -> Outcome:
    """/deleteme: a technician is asked about leaving, anyone else about their data."""
    async with turn.read() as tx:
        technician = await technicians.find(tx, person=turn.person)
    outcome = Outcome(turn.session.copy())
    if technician is None:
        # Where the bot cannot take back what it sent (WhatsApp), the person is told so.
        withdrawable = turn.core.channel(turn.chat).capabilities.delete_window is not None
        outcome.reply.send(datarights.confirm_delete(turn.lang, withdrawable=withdrawable))
    else:
        outcome.reply.send(redaction.confirm_technician_delete(turn.lang, datarights.KEEP))
    return outcome
