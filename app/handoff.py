"""Talk to a person: customers' messages to the operators' chat, and the operators' answers back.

Every message either way is an outbox row written with the change it belongs to: a
customer's message with its thread (``storage/handoff.py``), an operator's answer, the
closing. A reply (Telegram's reply-to) to one of a thread's messages in the operators' chat
answers that customer; ``/done`` (or the *Done* button) closes the thread, and the customer's
handoff in progress ends, giving back what it set aside (their booking, as it was).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext

from app.core import Turn
from app.notices import Withdrawal, notify, withdraw
from app.routes import action, operator_button, operator_command
from conversations import handoff, operators, router
from conversations.events import Address, ButtonPress, Command, Text
from conversations.handoff import texts
from conversations.outbound import Effect, Outbound
from conversations.router import Outcome
from conversations.text import ASCII_NUMBER, clean
from storage import handoff as threads
from storage.database import Tx

log = logging.getLogger(__name__)


@action(handoff.ToOperators)
async def to_operators(turn: Turn, outcome: Outcome, asked: handoff.ToOperators) -> None:
    """Pass the customer's message to their open thread (opened now if there is none)."""
    core, person, lang = turn.core, turn.person, turn.lang
    chat = core.contacts.operators
    if chat is None:
        # Nobody would read it: say so instead of promising an answer, and leave the handoff.
        ended = handoff.leave(outcome.session, texts.nobody_to_answer(lang, turn.context()))
        outcome.session, outcome.reply = ended.session, ended.reply
        return
    now = core.clock()
    async with turn.transaction() as tx:
        thread = await threads.open_of(tx, person=person)
        first = thread is None
        if thread is None:
            references = await threads.open_references(tx, person=person)
            thread = await threads.start(
                tx, person=person, lang=lang, references=references, now=now
            )
        else:
            await threads.touch(tx, thread_id=thread.id, now=now)
        message = texts.to_operators(thread.id, lang, thread.references, asked.text, first=first)
        # Named as the customer's data: an erasure while it waits removes it.
        owner = await threads.customer_id(tx, person=person)
        row = await notify(tx, chat, message, kind=threads.TO_OPERATORS, customer_id=owner)
        await threads.add_message(tx, thread_id=thread.id, chat=chat, outbox_id=row)
    if first:
        log.info("a customer asked to talk to a person")


async def relay_reply(turn: Turn, reply: Text) -> Outcome:
    """An operator's reply to a thread's message: relayed to its customer."""
    outcome = Outcome(turn.session)
    if turn.event.reply_to is None:
        return outcome
    async with turn.read() as tx:
        thread = await threads.by_message(tx, chat=turn.chat, message_id=turn.event.reply_to)
    if thread is None:
        return outcome  # a reply to another message of the bot's: the operators' own talk
    if not await _may_act(turn):
        outcome.reply.send(operators.not_an_operator(turn.lang))
        return outcome
    answer = clean(reply.text)
    if not answer:
        return outcome
    lang = await turn.core.language_of(thread.person, thread.lang)
    async with turn.transaction() as tx:
        still = await threads.load(tx, thread_id=thread.id)
        if still is None or not still.open:
            outcome.reply.send(texts.thread_closed(thread.id, already=True))
            return outcome
        await notify(tx, thread.person, texts.from_team(lang, answer), kind=threads.TO_CUSTOMER)
        await threads.touch(tx, thread_id=thread.id, now=turn.core.clock())
    outcome.reply.send(texts.relayed(thread.id))
    return outcome


@operator_command("done")
async def done(turn: Turn, command: Command) -> Outcome:
    """/done as a reply to a thread's message, or ``/done 12``: the conversation ends."""
    thread_id: int | None = None
    number = command.args.strip().lstrip("#")
    if ASCII_NUMBER.fullmatch(number):
        thread_id = int(number)
    elif turn.event.reply_to is not None:
        async with turn.read() as tx:
            found = await threads.by_message(tx, chat=turn.chat, message_id=turn.event.reply_to)
        thread_id = found.id if found is not None else None
    return await _close(turn, thread_id)


@operator_button(texts.DONE_KIND)
async def done_pressed(turn: Turn, press: ButtonPress) -> Outcome:
    """The *Done* button under a thread's message."""
    return await _close(turn, texts.parse_done(press.data))


async def _close(turn: Turn, thread_id: int | None) -> Outcome:
    """Close ``thread_id``: the customer is told, and their handoff gives way to what it hid."""
    core, outcome = turn.core, Outcome(turn.session)
    async with turn.read() as tx:
        thread = await threads.load(tx, thread_id=thread_id) if thread_id is not None else None
    if thread is None or thread_id is None:
        outcome.reply.send(texts.no_thread())
        return outcome
    if not thread.open:
        outcome.reply.send(texts.thread_closed(thread_id, already=True))
        return outcome
    person = thread.person
    # The customer's session changes: in their turn (unless the operator is that customer,
    # whose lock this event already holds).
    held: AbstractAsyncContextManager[None] = (
        nullcontext() if person == turn.person else core.lock(person)
    )
    async with held:
        session = (await core.sessions.load(person)).copy()
        session.lang = session.lang or thread.lang
        ctx = core.context()
        ended = router.settle(handoff.closed(session), ctx)
        async with turn.transaction() as tx:
            if not await threads.close(tx, thread_id=thread_id, now=core.clock()):
                outcome.reply.send(texts.thread_closed(thread_id, already=True))
                return outcome
            await _tell(tx, person, ended.reply.effects)
        if ended.session.flow != session.flow or ended.session.step != session.step:
            await core.sessions.save(ended.session)
    outcome.reply.send(texts.thread_closed(thread_id, already=False))
    log.info("an operator closed a conversation with a customer")
    return outcome


async def _tell(tx: Tx, person: Address, effects: Sequence[Effect]) -> None:
    for effect in effects:
        if isinstance(effect, Outbound):
            await notify(tx, person, effect, kind=threads.TO_CUSTOMER)


async def _may_act(turn: Turn) -> bool:
    core = turn.core
    return await core.authority.may_act(core.channel(turn.chat), turn.chat, turn.person)


async def erase(turn: Turn, tx: Tx, person: Address) -> bool:
    """In an erasure's transaction: ``person``'s threads go, and their copies in chats."""
    held, copies = await threads.erase(tx, person=person)
    for found in copies:
        withdrawal = Withdrawal(messages=found.message_ids, text=texts.thread_erased())
        await withdraw(tx, found.chat, withdrawal)
    return held
