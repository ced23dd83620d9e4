"""Talk to a person: the customer's messages go to the operators' chat, their answers come back.

A flow of one step that stacks: asked for at any step of anything (the *Talk to a person*
button, or a plain request such as "মানুষের সাথে কথা বলতে চাই", which the flow claims from
whatever runs), it sets aside what was going on, and every text the customer then types is
passed to the operators (:class:`ToOperators`, carried out by ``app/handoff.py``). *Back*
or /cancel leaves it, and so does an operator's /done: what was set aside (a booking, with
its answers) comes back where it was. The operators' answers reach the customer whatever
they are doing; *Reply* under one comes back here.
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.common import TALK_DATA
from conversations.digits import localize_digits
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    Inbound,
    LocationShared,
    Text,
)
from conversations.handoff import texts
from conversations.handoff.recognise import asks_for_person
from conversations.handoff.texts import BACK_DATA, OPEN_DATA, PREFIX
from conversations.i18n import translator
from conversations.outbound import Outbound
from conversations.router import Flow, Outcome, enter, register, resume
from conversations.session import BOOKING, Context, Session
from conversations.text import clean

FLOW = "handoff"
STEP = "open"
#: The longest message passed on (with its quote marks it fits one message to the team).
MAX_MESSAGE = 1000


@dataclass(frozen=True, slots=True)
class ToOperators:
    """Pass ``text`` (None: only the wish to talk) to the person's conversation with the team."""

    text: str | None


def claims(event: Inbound) -> bool:
    """Tell whether ``event`` is for this flow whatever runs: its buttons, a plain request."""
    payload = event.payload
    if isinstance(payload, ButtonPress):
        return payload.data.partition(":")[0] == PREFIX
    return isinstance(payload, Text) and asks_for_person(payload.text)


def start(session: Session, ctx: Context, text: str | None, *, reply: bool = False) -> Outcome:
    """Open the conversation with the team over what runs; ``text`` goes to them first.

    ``reply``: *Reply* under the team's answer; nothing goes to them until the customer types.
    """
    new = session.copy()
    new.flow, new.step, new.data = FLOW, STEP, {}
    actions: list[object] = [] if reply else [ToOperators(text or None)]
    outcome = enter(session, Outcome(new, actions=actions))
    lang, aside = _lang(session), bool(outcome.session.resume)
    booking = _booking_aside(outcome.session)
    if reply:
        said = texts.replying(lang, aside=aside, booking=booking)
    else:
        said = texts.opened(lang, ctx, aside=aside, booking=booking)
    outcome.reply.effects.extend(said)
    return outcome


def reprompt(session: Session, ctx: Context | None = None, hint: str | None = None) -> Outcome:
    """Say again that what they type goes to the team, after an optional hint."""
    outcome = Outcome(session.copy())
    if hint:
        outcome.reply.send(Outbound(hint))
    outcome.reply.send(texts.prompt(_lang(session), booking=_booking_aside(session)))
    return outcome


def leave(session: Session, message: Outbound | None = None) -> Outcome:
    """End the handoff on the customer's side: what it set aside comes back (the router's)."""
    new = session.copy()
    new.reset()
    outcome = Outcome(new)
    lang = _lang(session)
    outcome.reply.send(message or texts.left(lang, resumed=bool(session.resume)))
    return outcome


def closed(session: Session) -> Outcome:
    """An operator ended the conversation: tell the customer; a handoff in progress ends."""
    message = texts.closed(_lang(session))
    if session.flow != FLOW:
        outcome = Outcome(session.copy())
        outcome.reply.send(message)
        return outcome
    return leave(session, message)


def handle(session: Session, event: Inbound, ctx: Context) -> Outcome:
    """Answer one event: start the handoff, or pass a message on, or leave."""
    payload = event.payload
    t = translator(_lang(session))
    if session.flow != FLOW:
        if isinstance(payload, ButtonPress) and payload.data not in (TALK_DATA, OPEN_DATA):
            # *Back* under an old message: there is no conversation to leave.
            outcome = Outcome(session.copy())
            outcome.reply.toast = t._("That button belongs to an earlier message.")
            return resume(outcome, ctx)
        if isinstance(payload, ButtonPress):
            return start(session, ctx, None, reply=payload.data == OPEN_DATA)
        return start(session, ctx, clean(payload.text) if isinstance(payload, Text) else None)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return leave(session)
        hint = t._("To go back, tap the button below or send /cancel.")
        return reprompt(session, ctx, hint)
    if isinstance(payload, ButtonPress):
        if payload.data == BACK_DATA:
            return leave(session)
        return reprompt(session, ctx)
    if isinstance(payload, ContactShared | LocationShared):
        hint = t._("Your contact and location are not passed on here. Please type your message.")
        return reprompt(session, ctx, hint)
    text = clean(payload.text) if isinstance(payload, Text) else None
    if text is None:
        return reprompt(
            session, ctx, t._("Only text can be passed on to our team; please type it.")
        )
    if not text:
        return reprompt(session, ctx)
    if len(text) > MAX_MESSAGE:
        hint = t._("Please keep each message under {limit} characters.").format(limit=MAX_MESSAGE)
        return reprompt(session, ctx, localize_digits(hint, t.lang))
    outcome = Outcome(session.copy(), actions=[ToOperators(text)])
    outcome.reply.send(texts.sent(t.lang))
    return outcome


def _lang(session: Session) -> str:
    return session.lang or "bn"


def _booking_aside(session: Session) -> bool:
    return bool(session.resume) and (session.resume or {}).get("flow") == BOOKING


#: Commands answered aside in the handoff (then it says again where they are); any other
#: goes to it (/cancel leaves it).
INTERRUPTED_BY = frozenset({"help", "privacy", "myorders", "mydata", "language", "deleteme"})
#: Buttons of others that still work in the handoff.
BUTTONS_ASIDE = frozenset({"lang", "dr", "rt", "ord", "av", "job"})

SPEC = register(
    Flow(
        name=FLOW,
        handle=handle,
        reprompt=reprompt,
        steps=frozenset({STEP}),
        prefix=PREFIX,
        interrupted_by=INTERRUPTED_BY,
        buttons_aside=BUTTONS_ASIDE,
        stacks=True,
        claims=claims,
    )
)

__all__ = [
    "FLOW",
    "MAX_MESSAGE",
    "SPEC",
    "ToOperators",
    "asks_for_person",
    "claims",
    "closed",
    "handle",
    "leave",
    "reprompt",
    "start",
]
