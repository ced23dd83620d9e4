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
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from app import handoff, notices, routes
from app.core import Core, Turn
from app.flood import Verdict
from app.ports import Channel, DeliveryError, Progress, Retry, Unreachable
from conversations import common, operators, router
from conversations.events import Address, ButtonPress, Command, Inbound, Text
from conversations.i18n import pick_language
from conversations.outbound import Document, Effect, Outbound, Reply
from conversations.router import Outcome
from conversations.session import Session
from storage import job_messages, outbox_outcomes, replies
from storage.database import Write

log = logging.getLogger(__name__)

#: Told that an event's effects are committed (see :func:`handle`).
Settled = Callable[[], Awaitable[None]]
#: Seconds an answer held back without a named wait (a network failure) waits in the outbox.
_HOLD_S = 2.0


async def handle(
    core: Core,
    event: Inbound,
    *,
    settled: Settled | None = None,
    update: int | None = None,
    answer_first: bool = False,
) -> None:
    """Answer ``event``: the session is committed before the answer goes out.

    ``settled`` is awaited once the event's effects are committed (its session saved; or it
    was dropped, or failed), before the answer is sent: ``serve`` marks its stored update
    done there, so a crash before it has the update handled again, and one after it not.
    With ``answer_first`` (several workers) it is awaited after the answer instead, so a
    crash before the answer went out leaves the update to another worker; ``update`` (the
    stored update's id, saved with the session) then tells it that the effects are there
    already, and the step's question is asked again instead of applying them twice.
    """
    channel = core.channel(event.sender.chat)
    if _out_of_place(core, event):
        # A customer's or technician's button pressed in a group, or an operators' button
        # outside their chat: forged, or a forwarded message; nothing answers it.
        log.debug("a button pressed outside the chat it belongs to was ignored")
        await _settle(settled)
        await _acknowledge(channel, event, None)
        return
    if core.flood is not None and not await _within_cap(core, channel, event):
        await _settle(settled)
        return
    async with core.lock(event.sender.person):
        try:
            turn, reply = await answer(core, event, update=update)
        except Exception:
            log.exception("an event failed")
            # Not handled again: it would most likely fail again, at every start-up.
            await _settle(settled)
            await _apologise(channel, event)
            return
        if not answer_first:
            await _settle(settled)
        await _acknowledge(channel, event, reply.toast)
        effects = reply.effects
        if reply.toast and not effects and not channel.capabilities.toasts:
            # The toast is the whole answer (a stale button): where no toast shows, say it.
            effects = [Outbound(reply.toast)]
        await deliver(core, channel, event.sender.chat, effects, turn.lang)
        if answer_first:
            await _settle(settled)
        if turn.notified:
            # After the answer: the sender hears first, then the people it concerns.
            core.wake_outbox()


async def answer(core: Core, event: Inbound, *, update: int | None = None) -> tuple[Turn, Reply]:
    """Route ``event``, carry out what it asks and save the session; return the answer.

    ``update``: the stored update's id, saved with the session; when the session holds it
    already (handled before a crash) the step's question is the answer and nothing changes.
    """
    routes.load()
    sender = event.sender
    if _for_operators(core, event):
        # Operators' commands touch no conversation of the operator's own.
        turn = Turn(core, event, Session(sender.person, pick_language(sender.language_code)))
        return turn, (await _operators(turn)).reply
    session = await core.sessions.load(sender.person)
    # Someone new whose channel named no language (WhatsApp: no /start, they say hello): the
    # greeting, with its language switch, answers whatever they wrote first.
    first_contact = session.lang is None and sender.language_code is None
    if session.lang is None:
        session.lang = pick_language(sender.language_code)
    turn = Turn(core, event, session)
    if update is not None and session.applied == update:
        # Its effects were committed before a crash took the answer: ask the step again.
        log.info("an update handled before a crash is answered with the step's question")
        again = router.resume(Outcome(session.copy()), turn.context())
        if again.reply.effects:
            return turn, again.reply
        # No flow in progress: the update most likely ended one (a booking confirmed), and
        # its answer held the outcome: the person's orders say it.
        orders = routes.COMMANDS.get("myorders")
        if orders is not None:
            return turn, (await orders.handle(turn, Command("myorders"))).reply
        again.reply.send(common.idle_hint(turn.lang))
        return turn, again.reply
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
        if first_contact:
            outcome.reply.send(common.welcome(turn.lang, sender.first_name))
        else:
            outcome.reply.send(common.idle_hint(turn.lang))
    for requested in outcome.actions:
        await routes.ACTIONS[type(requested)](turn, outcome, requested)
    router.settle(outcome, ctx)
    if update is not None:
        outcome.session.applied = update
    await core.sessions.save(outcome.session)
    return turn, outcome.reply


async def _settle(settled: Settled | None) -> None:
    if settled is None:
        return
    try:
        await settled()
    except Exception:  # the event is handled; at worst it is handled again after a restart
        log.exception("recording an event as handled failed")


async def _within_cap(core: Core, channel: Channel, event: Inbound) -> bool:
    """Tell whether ``event`` is within its sender's rate cap; warn once when it is not."""
    assert core.flood is not None
    verdict = core.flood.admit(event.sender.person)
    if verdict is Verdict.HANDLE:
        return True
    if verdict is Verdict.WARN:
        # Once per flood: the rest of it costs no database work at all.
        log.info("a flood of events was capped")
        person = event.sender.person
        lang = await core.language_of(person, pick_language(event.sender.language_code))
        notice = common.slow_down(lang)
        if isinstance(event.payload, ButtonPress) and channel.capabilities.toasts:
            await _acknowledge(channel, event, notice.text)
        else:
            try:
                await channel.send(event.sender.chat, notice)
            except DeliveryError:
                pass  # a flood's warning is not worth a retry
    return False


def _out_of_place(core: Core, event: Inbound) -> bool:
    """Tell whether a button was pressed in a chat where it means nothing."""
    payload = event.payload
    if not isinstance(payload, ButtonPress):
        return False
    operators = core.contacts.operators
    if router.prefix_of(payload.data) == "op":
        return operators is None or event.sender.chat != operators
    return not event.sender.private


def _for_operators(core: Core, event: Inbound) -> bool:
    operators = core.contacts.operators
    if operators is None or event.sender.chat != operators:
        return False
    payload = event.payload
    if isinstance(payload, Command):
        # In the group every command is for the operators; an operators' chat that is one
        # person's private chat keeps its ordinary use for everything but theirs.
        return payload.name in routes.OPERATOR_COMMANDS or operators != event.sender.person
    if isinstance(payload, Text):
        # A reply to one of the bot's messages there: perhaps an answer to a customer.
        return event.reply_to is not None and operators != event.sender.person
    return isinstance(payload, ButtonPress) and router.prefix_of(payload.data) == "op"


async def _operators(turn: Turn) -> Outcome:
    payload, core = turn.event.payload, turn.core
    chat = turn.chat
    if isinstance(payload, Text):
        # Only a reply to a customer's conversation is answered (it checks who may act).
        return await handoff.relay_reply(turn, payload)
    if not await core.authority.may_act(core.channel(chat), chat, turn.person):
        # Membership of the chat is not enough to act in it.
        refused = Outcome(turn.session)
        if isinstance(payload, ButtonPress):
            refused.reply.toast = operators.not_an_operator(turn.lang).text
        else:
            refused.reply.send(operators.not_an_operator(turn.lang))
        log.info("an action in the operators' chat by someone who may not act was refused")
        return refused
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


async def deliver(
    core: Core, channel: Channel, chat: Address, effects: Sequence[Effect], lang: str = "bn"
) -> None:
    """Send the answer in order; keep the ids of messages that show a customer's contact.

    Nothing is dropped that can still arrive: what the channel asks us to hold back goes
    through the outbox, after the wait it named, and the chat's later answers follow it there
    until it is out, so they arrive in order.
    """
    if chat in core.backlog:
        async with core.db.read() as tx:
            behind = await replies.waiting(tx, chat)
        if behind:
            await _queue(core, chat, effects, lang, after=None)
            return
        core.backlog.discard(chat)
    shown: list[tuple[int, str]] = []
    for index, effect in enumerate(effects):
        try:
            if isinstance(effect, Document):
                await channel.send_document(chat, effect)
                continue
            sent = await channel.send(chat, effect)
        except Unreachable:
            log.info("the sender's chat is closed to the bot; the answer is dropped")
            return
        except Retry as error:
            log.warning("an answer was held back (%s); it goes through the outbox", error)
            await _queue(core, chat, effects[index:], lang, after=error.after, done=error.progress)
            break
        except DeliveryError as error:  # refused: sending it again would be refused again
            log.warning("an answer could not be delivered: %s", error)
            continue
        if isinstance(effect, Outbound) and effect.shows_offer is not None and sent.message_id:
            shown.append((effect.shows_offer, sent.message_id))
    if shown:  # only technicians' job messages: nothing to do on a customer's event
        try:
            await core.db.write(job_messages.views(shown))
        except Exception:  # the answer is out; a lost record must not fail the event
            log.exception("recording the job messages of an answer failed")


async def _queue(
    core: Core,
    chat: Address,
    effects: Sequence[Effect],
    lang: str,
    *,
    after: float | None,
    done: Progress | None = None,
) -> None:
    """Write ``effects`` to the outbox in order, the first due ``after`` seconds from now.

    ``done``: the parts of the first that went out already (its text, when its pin failed):
    kept on its row, so only the rest is sent, and erasure finds what is in the chat.
    """
    first_due = core.clock() + timedelta(seconds=_HOLD_S if after is None else after)
    async with core.transaction() as tx:
        for position, effect in enumerate(effects):
            # A file (a data export) is not kept in the outbox: the person is asked to ask
            # again, which makes a fresh one.
            message = effect if isinstance(effect, Outbound) else common.file_not_sent(lang)
            row = await notices.notify(tx, chat, message, kind=replies.REPLY)
            if position == 0:
                await outbox_outcomes.retry_later(tx, outbox_id=row, due_at=first_due)
                if done is not None and done.started and isinstance(effect, Outbound):
                    await tx.run_all(_kept(row, effect, done))
    core.backlog.add(chat)


def _kept(row: int, message: Outbound, done: Progress) -> list[Write]:
    """The writes that keep what went out of a held-back answer on its outbox row."""
    sent = done.sent
    writes = outbox_outcomes.progress(
        outbox_id=row,
        message_id=sent.message_id,
        location_message_id=sent.pin_id,
        copies=sent.copies,
        unsure=done.unsure,
        unsure_since=done.since,
    )
    if message.shows_offer is not None:
        writes += job_messages.views([(message.shows_offer, found) for found in sent.ids()])
    return writes


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
