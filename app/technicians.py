"""Technicians of their own accord: applying (/register), /available and /away."""

from __future__ import annotations

import logging

from app.core import Turn
from app.notices import notify
from app.routes import action, button, command
from conversations import booking, common, operators, registration, router
from conversations.events import ButtonPress, Command
from conversations.outbound import Outbound
from conversations.registration import SubmitApplication
from conversations.router import Outcome
from conversations.session import BOOKING
from storage import outbox, technicians
from storage.models import Technician

log = logging.getLogger(__name__)


@command("register")
async def register(turn: Turn, command: Command) -> Outcome:
    """/register (and the ``?start=tech`` link): the registration, unless they stand already."""
    return await start_registration(turn)


async def start_registration(turn: Turn) -> Outcome:
    """Begin a registration, or say where an applicant or a technician stands."""
    session, lang = turn.session, turn.lang
    if session.flow == BOOKING:
        outcome = booking.reprompt(session, turn.context())
        outcome.reply.effects.insert(0, registration.finish_booking_first(lang))
        return outcome
    async with turn.read() as tx:
        technician = await technicians.find(tx, person=turn.person)
    if technician is not None and technician.status != technicians.REJECTED:
        # Approved or waiting: told where they stand; a rejected applicant may try again.
        outcome = Outcome(session.copy())
        outcome.reply.send(_standing(technician, lang))
        return outcome
    return registration.start(session, turn.event.sender.first_name)


def _standing(technician: Technician, lang: str) -> Outbound:
    """Where an approved or pending technician stands, for /register sent again."""
    if technician.status == technicians.PENDING:
        return registration.pending(lang)
    return registration.already_registered(lang, available=technician.available)


@action(SubmitApplication)
async def submit(turn: Turn, outcome: Outcome, submitted: SubmitApplication) -> None:
    """Store a pending technician and queue the application for the operators, together."""
    application, reply = submitted.application, outcome.reply
    operators_chat = turn.core.contacts.operators
    async with turn.transaction() as tx:
        applied = await technicians.apply(
            tx,
            person=turn.person,
            name=application.name,
            phone=application.phone,
            services=application.services,
            areas=application.areas,
            latitude=application.latitude,
            longitude=application.longitude,
            lang=application.lang,
        )
        if applied.stored and operators_chat is not None:
            applicant = operators.Applicant(
                technician_id=applied.technician_id,
                name=application.name,
                phone=application.phone,
                services=application.services,
                areas=application.areas,
                located=application.latitude is not None,
                channel=turn.person.channel,
            )
            await notify(
                tx,
                operators_chat,
                operators.application("en", applicant),
                kind=outbox.APPLICATION,
                technician_id=applied.technician_id,
            )
    if not applied.stored:
        # Approved or pending meanwhile (another device, the CLI): nothing was changed.
        if applied.status == technicians.PENDING:
            reply.send(registration.pending(application.lang))
        else:
            reply.send(
                registration.already_registered(application.lang, available=applied.available)
            )
        return
    reply.send(registration.submitted(application.lang))
    if operators_chat is None:
        log.warning(
            "technician application #%d stored, but no operators' chat is set",
            applied.technician_id,
        )
    else:
        log.info("technician application #%d stored", applied.technician_id)


@command("available", "away")
async def availability_command(turn: Turn, command: Command) -> Outcome:
    """/available and /away: switch whether an approved technician gets offers."""
    outcome = Outcome(turn.session.copy())
    outcome.reply.send(await _set_availability(turn, command.name == "available", None))
    return router.resume(outcome, turn.context())


@button(registration.AVAILABILITY_PREFIX)
async def availability_button(turn: Turn, press: ButtonPress) -> Outcome:
    """The button under an /available or /away answer."""
    outcome = Outcome(turn.session.copy())
    available = registration.parse_availability(press.data)
    if available is None:
        outcome.reply.send(common.stale_button(turn.lang))
    else:
        outcome.reply.send(await _set_availability(turn, available, press.message_id))
    return router.resume(outcome, turn.context())


async def _set_availability(turn: Turn, available: bool, message_id: str | None) -> Outbound:
    lang = turn.lang
    async with turn.transaction() as tx:
        changed = await technicians.set_available(tx, person=turn.person, available=available)
        found = changed or await technicians.find(tx, person=turn.person)
    if changed is not None:
        log.info("technician #%d is %s", changed.id or 0, "available" if available else "away")
        return registration.availability(
            lang, available=available, active=changed.active, message_id=message_id
        )
    if found is not None and found.status == technicians.PENDING:
        return registration.pending(lang)
    return registration.only_technicians(lang)
