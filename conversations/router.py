"""The flows' router: every flow registers itself, and events go to the flow they belong to.

A flow is one module of this package that builds a :class:`Flow` and passes it to
:func:`register`: its name (kept as ``Session.flow``), the commands that start it, the prefix
of its buttons, which commands (and whose buttons) may interrupt it, ``handle`` and
``reprompt``. Adding a flow edits no switch anywhere: :func:`flows` finds every module here.
A flow may also ``claim`` events at any step of any other flow, or outside one (a plain
request for a person): such an event goes to it first.

While a flow runs, an event goes to it unless it is a command the flow lets through
(``interrupted_by``) or a button of another prefix the flow does not keep: those are the
core's to answer, after which the flow asks its step again (:func:`resume`). A flow that
``stacks`` sets aside the flow it interrupts (:func:`enter`); when it ends, what it interrupted
comes back where it was (:func:`settle`). Pure: no I/O here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from conversations.events import ButtonPress, Command, Inbound
from conversations.outbound import Reply
from conversations.session import IDLE, Context, Session


@dataclass(slots=True)
class Outcome:
    """What a step produced: the new session, the reply, and actions for the core to carry out.

    Actions are plain frozen dataclasses (store the order, save a correction...): data, never
    code, so the core decides how (and in which transaction) each is done.
    """

    session: Session
    reply: Reply = field(default_factory=Reply)
    actions: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation of several steps, declared by its module.

    ``buttons_aside`` None means the flow takes only its own buttons (``prefix``); a set means
    it takes every button but those prefixes (a press elsewhere is stale mid-flow). A flow
    that ``stacks`` may start over another, which resumes when it ends; ``on_resume`` lets the
    flow that comes back see the actions of the one that ended (a correction it should offer).
    ``claims`` names events the flow takes whatever runs (another flow, or none): it then
    starts over what runs, which it should stack.
    """

    name: str
    handle: Callable[[Session, Inbound, Context], Outcome]
    reprompt: Callable[[Session, Context], Outcome]
    #: The steps it can be at (a frame set aside at any other step is damaged).
    steps: frozenset[str] = frozenset()
    prefix: str | None = None
    commands: frozenset[str] = frozenset()
    interrupted_by: frozenset[str] = frozenset()
    buttons_aside: frozenset[str] | None = None
    stacks: bool = False
    on_resume: Callable[[Session, Sequence[Any]], None] | None = None
    claims: Callable[[Inbound], bool] | None = None


_FLOWS: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    """Add ``flow`` to the router (each flow module calls it once, at import)."""
    known = _FLOWS.get(flow.name)
    if known is not None and known is not flow:
        raise ValueError(f"two flows are named {flow.name!r}")
    _FLOWS[flow.name] = flow
    return flow


@cache
def flows() -> dict[str, Flow]:
    """Return every flow of the package by name (importing each module once)."""
    package = importlib.import_module(__package__ or "conversations")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(_FLOWS)


def current(session: Session) -> Flow | None:
    """Return the flow the session is in (None when idle or unknown)."""
    return None if session.flow == IDLE else flows().get(session.flow)


def prefix_of(data: str) -> str:
    """Return the prefix of button data (``bk`` of ``bk:area:mirpur``)."""
    return data.partition(":")[0]


@cache
def _claimers() -> tuple[Flow, ...]:
    return tuple(flow for flow in flows().values() if flow.claims is not None)


def taker(session: Session, event: Inbound) -> Flow | None:
    """Return the flow that gets ``event`` (in progress, or claiming it), or None: the core's."""
    flow = current(session)
    for claimer in _claimers():
        if claimer is not flow and claimer.claims is not None and claimer.claims(event):
            return claimer
    if flow is None:
        return None
    payload = event.payload
    if isinstance(payload, Command):
        return None if payload.name in flow.interrupted_by else flow
    if isinstance(payload, ButtonPress):
        prefix = prefix_of(payload.data)
        if prefix == flow.prefix:
            return flow
        if flow.buttons_aside is None or prefix in flow.buttons_aside:
            return None
    return flow


def enter(before: Session, started: Outcome) -> Outcome:
    """Record that ``started`` began a flow over ``before``'s: a stacking flow sets it aside."""
    new = started.session
    flow = flows().get(new.flow)
    if before.flow in (IDLE, new.flow) or flow is None or not flow.stacks:
        # Started again mid-way: what it interrupted is still the same.
        new.resume = before.resume
    else:
        new.resume = _frame(before)
    return started


def settle(outcome: Outcome, ctx: Context) -> Outcome:
    """After a step: a flow that ended gives way to the one it interrupted, asked again."""
    session = outcome.session
    if session.flow != IDLE or not session.resume:
        return outcome
    back = _unframe(session, session.resume)
    flow = current(back)
    if flow is None or (flow.steps and back.step not in flow.steps):
        # A frame this router never wrote (an unknown flow or step): nothing to give back.
        flow = None
        back.reset()
        back.resume = None
    outcome.session = back
    if flow is not None:
        if flow.on_resume is not None:
            flow.on_resume(back, outcome.actions)
        outcome.reply.extend(flow.reprompt(back, ctx).reply)
    return outcome


def resume(outcome: Outcome, ctx: Context) -> Outcome:
    """After the core answered something aside: the flow in progress asks its step again."""
    flow = current(outcome.session)
    if flow is not None:
        outcome.reply.extend(flow.reprompt(outcome.session, ctx).reply)
    return outcome


def run(session: Session, event: Inbound, ctx: Context) -> Outcome | None:
    """Give ``event`` to the flow in progress that takes it (then settle); None if none does.

    Actions of the outcome are not carried out here: a caller with storage does that between
    the step and :func:`settle` (see ``app.handle``); this is the whole path for tests.
    """
    flow = taker(session, event)
    if flow is None:
        return None
    return settle(flow.handle(session, event, ctx), ctx)


def _frame(session: Session) -> dict[str, Any]:
    data = dict(session.data)
    if session.resume:
        data["resume"] = session.resume
    return {"flow": session.flow, "step": session.step, "data": data}


def _unframe(session: Session, frame: dict[str, Any]) -> Session:
    back = session.copy()
    flow, step, data = frame.get("flow"), frame.get("step"), frame.get("data")
    if isinstance(flow, str) and isinstance(step, str) and isinstance(data, dict):
        inner = dict(data)
        nested = inner.pop("resume", None)
        back.flow, back.step, back.data = flow, step, inner
        back.resume = nested if isinstance(nested, dict) else None
    else:  # a damaged frame (never written by this module): idle
        back.reset()
        back.resume = None
    return back
