"""One inbound event, end to end: in the person's turn, route, carry out, save, answer.

The path of every event: the person's lock is taken (their events one at a time, in order);
their session is loaded; the flow in progress takes the event, or else the core's answer to
that command or button does (``app/routes.py``); the actions the outcome asks for are carried
out, each in its transaction with the notices it causes; a flow that ended gives way to the
one it interrupted; the session is committed; only then is the answer sent, and the delivery
worker woken for the notices.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app import routes
from app.core import Core, Turn
from app.ports import Channel, DeliveryError, Unreachable
from conversations import common, operators, router
from conversations.events import Address, ButtonPress, Command, Inbound
from conversations.i18n import pick_language
from conversations.outbound import Document, Effect, Outbound, Reply
from conversations.router import Outcome
from conversations.session import Session
from storage import job_messages

log = logging.getLogger(__name__)


async def handle(core: Core, event: Inbound) -> None:
    """Answer ``event``: the session is committed before the answer goes out."""
    channel = core.channel(event.sender.chat)
    async with core.lock(event.sender.person):
        try:
            turn, reply = await answer(core, event)
        except Exception:
            log.exception("an event failed")
            await _apologise(channel, event)
            return
        await _acknowledge(channel, event, reply.toast)
        await deliver(core, channel, event.sender.chat, reply.effects)
        if turn.notified:
            # After the answer: the sender hears first, then the people it concerns.
            core.wake_outbox()


async def answer(core: Core, event: Inbound) -> tuple[Turn, Reply]:
    """Route ``event``, carry out what it asks and save the session; return the answer."""
    routes.load()
    sender = event.sender
    if _for_operators(core, event):
        # Operators' commands touch no conversation of the operator's own.
        turn = Turn(core, event, Session(sender.person, pick_language(sender.language_code)))
        return turn, (await _operators(turn)).reply
    session = await core.sessions.load(sender.person)
    if session.lang is None:
        session.lang = pick_language(sender.language_code)
    turn = Turn(core, event, session)
    payload = event.payload
    if isinstance(payload, ButtonPress):
        exact = routes.EXACT_BUTTONS.get(payload.data)
        if exact is not None and exact.forgets:
            # An erasure leaves no session behind: nothing is saved after it.
            return turn, (await exact.handle(turn, payload)).reply
    ctx = turn.context()
    flow = router.taker(session, event)
    if flow is not None:
        outcome = flow.handle(session, event, ctx)
    elif isinstance(payload, Command):
        found = routes.COMMANDS.get(payload.name)
        if found is None:
            outcome = Outcome(session.copy())
            outcome.reply.send(common.unknown_command(turn.lang, payload.name))
        else:
            outcome = await found.handle(turn, payload)
    elif isinstance(payload, ButtonPress):
        button = routes.EXACT_BUTTONS.get(payload.data) or routes.BUTTONS.get(
            router.prefix_of(payload.data)
        )
        if button is None:
            outcome = Outcome(session.copy())
            outcome.reply.send(common.stale_button(turn.lang))
        else:
            outcome = await button.handle(turn, payload)
    else:
        outcome = Outcome(session.copy())
        outcome.reply.send(common.idle_hint(turn.lang))
    for requested in outcome.actions:
        await routes.ACTIONS[type(requested)](turn, outcome, requested)
    router.settle(outcome, ctx)
    await core.sessions.save(outcome.session)
    return turn, outcome.reply


def _for_operators(core: Core, event: Inbound) -> bool:
    operators = core.contacts.operators
    if operators is None or event.sender.chat != operators:
        return False
    payload = event.payload
    if isinstance(payload, Command):
        # In the group every command is for the operators; an operators' chat that is one
        # person's private chat keeps its ordinary use for everything but theirs.
        return payload.name in routes.OPERATOR_COMMANDS or operators != event.sender.person
    return isinstance(payload, ButtonPress) and router.prefix_of(payload.data) == "op"


async def _operators(turn: Turn) -> Outcome:
    payload = turn.event.payload
    if isinstance(payload, Command):
        found = routes.OPERATOR_COMMANDS.get(payload.name)
        if found is None:
            outcome = Outcome(turn.session)
            outcome.reply.send(operators.operators_help(turn.lang))
            return outcome
        return await found.handle(turn, payload)
    assert isinstance(payload, ButtonPress)
    kind = payload.data.split(":")[1] if payload.data.count(":") else ""
    found = routes.OPERATOR_BUTTONS.get(kind)
    if found is None:
        outcome = Outcome(turn.session)
        outcome.reply.send(common.stale_button(turn.lang))
        return outcome
    return await found.handle(turn, payload)


async def deliver(core: Core, channel: Channel, chat: Address, effects: Sequence[Effect]) -> None:
    """Send the answer in order; keep the ids of messages that show a customer's contact."""
    shown: list[tuple[int, str]] = []
    for effect in effects:
        try:
            if isinstance(effect, Document):
                await channel.send_document(chat, effect)
                continue
            sent = await channel.send(chat, effect)
        except Unreachable:
            log.info("the sender's chat is closed to the bot; the answer is dropped")
            return
        except DeliveryError as error:
            log.warning("an answer could not be delivered: %s", error)
            continue
        if isinstance(effect, Outbound) and effect.shows_offer is not None and sent.message_id:
            shown.append((effect.shows_offer, sent.message_id))
    if shown:  # only technicians' job messages: nothing to do on a customer's event
        try:
            await core.db.write(job_messages.views(shown))
        except Exception:  # the answer is out; a lost record must not fail the event
            log.exception("recording the job messages of an answer failed")


async def _acknowledge(channel: Channel, event: Inbound, toast: str | None) -> None:
    if event.receipt is None:
        return
    try:
        await channel.acknowledge(event, toast)
    except DeliveryError:
        pass  # the press is older than the channel keeps it: the answer still goes out


async def _apologise(channel: Channel, event: Inbound) -> None:
    lang = pick_language(event.sender.language_code)
    try:
        await _acknowledge(channel, event, None)
        await channel.send(event.sender.chat, common.error_apology(lang))
    except DeliveryError:
        log.warning("could not send the apology either")
