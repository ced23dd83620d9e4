"""Technicians' self-registration: name, phone, services, areas, base location, summary.

A pure flow like the booking: :func:`start` and :func:`handle` take a session and an event
and return an :class:`~conversations.router.Outcome` (the new session, the messages to send,
and a :class:`SubmitApplication` for the core to store as a pending technician and pass to the
operators). What each step asks is ``prompts.py``, what each answer means ``answers.py``, how
the steps follow each other ``steps.py``; what an applicant and a technician are told about
where they stand (``/register`` again, the operators' decision, ``/available`` and ``/away``)
is ``standing.py``.
"""

from __future__ import annotations

from conversations.events import ButtonPress, Command, Inbound, Text, Unsupported
from conversations.outbound import Outbound
from conversations.registration.actions import Application, SubmitApplication
from conversations.registration.answers import ANSWERS, on_button
from conversations.registration.prompts import (
    AREAS_PER_PAGE,
    AREAS_STEP,
    AVAILABILITY_PREFIX,
    AVAILABLE_OFF,
    AVAILABLE_ON,
    BACK,
    CANCEL,
    DEEP_LINK,
    DONE,
    FLOW,
    KEYBOARD_STEPS,
    KNOWN_COMMANDS,
    LOCATION,
    MAX_NAME,
    NAME,
    PAGE,
    PHONE,
    PREFIX,
    SERVICES_STEP,
    STEPS,
    SUBMIT,
    SUMMARY,
    TOGGLE,
    button_data,
    button_hint,
    session_translator,
    summary_text,
    unsupported_hint,
)
from conversations.registration.standing import (
    already_registered,
    approved,
    availability,
    finish_booking_first,
    in_progress,
    only_technicians,
    parse_availability,
    pending,
    rejected,
    submitted,
)
from conversations.registration.steps import BACK_LABELS, back, cancel, reprompt, send_prompt
from conversations.router import Flow, register
from conversations.router import Outcome as Outcome
from conversations.session import Context, Session
from conversations.text import bold, esc, one_line, shorten


def start(session: Session, first_name: str | None) -> Outcome:
    """Begin a registration: say what is kept and why, then ask the name."""
    new = session.copy()
    new.flow, new.step, new.data = FLOW, NAME, {}
    if first_name and one_line(first_name):
        new.data["first_name"] = shorten(one_line(first_name), MAX_NAME)
    t = session_translator(new)
    intro = "\n".join(
        (
            bold(t._("Join Mistri Services as a technician")),
            t._(
                "We keep your name, mobile number, services, areas and (if you share it) your"
                " base location, to send you jobs. Our team checks every application."
                " Policy: /privacy"
            ),
            t._("Send /cancel at any time to stop."),
        )
    )
    outcome = Outcome(new)
    outcome.reply.send(Outbound(intro))
    send_prompt(outcome)
    return outcome


def handle(session: Session, event: Inbound, ctx: Context | None = None) -> Outcome:
    """Answer one event at the session's current step."""
    t = session_translator(session)
    payload = event.payload
    if session.step not in STEPS:
        return reprompt(session)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return cancel(session)
        if payload.name in KNOWN_COMMANDS:
            hint = t._("Let's finish your registration first, or send /cancel to stop it.")
        else:
            hint = t._("I don't know the command /{name}.").format(name=esc(payload.name[:32]))
        return reprompt(session, hint)
    if isinstance(payload, ButtonPress):
        return on_button(session, payload, t)
    if isinstance(payload, Text) and payload.text.strip() in BACK_LABELS:
        return back(session)
    if isinstance(payload, Unsupported):
        return reprompt(session, unsupported_hint(t, payload.kind, session.step))
    answer = ANSWERS.get(session.step)
    if answer is None:
        return reprompt(session, button_hint(t))
    return answer(session, payload, t)


INTERRUPTED_BY = frozenset({"help", "privacy", "myorders", "mydata", "language", "deleteme"})
#: Buttons of others that still work mid-registration; any other button is stale here.
BUTTONS_ASIDE = frozenset({"lang", "dr", "rt", "ord", "av", "job"})

SPEC = register(
    Flow(
        name=FLOW,
        handle=handle,
        reprompt=lambda session, ctx: reprompt(session),
        steps=frozenset(STEPS),
        prefix=PREFIX,
        commands=frozenset({"register"}),
        interrupted_by=INTERRUPTED_BY,
        buttons_aside=BUTTONS_ASIDE,
    )
)

__all__ = [
    "AREAS_PER_PAGE",
    "AREAS_STEP",
    "AVAILABILITY_PREFIX",
    "AVAILABLE_OFF",
    "AVAILABLE_ON",
    "BACK",
    "CANCEL",
    "DEEP_LINK",
    "DONE",
    "FLOW",
    "KEYBOARD_STEPS",
    "LOCATION",
    "MAX_NAME",
    "NAME",
    "PAGE",
    "PHONE",
    "PREFIX",
    "SERVICES_STEP",
    "SPEC",
    "STEPS",
    "SUBMIT",
    "SUMMARY",
    "TOGGLE",
    "Application",
    "Outcome",
    "SubmitApplication",
    "already_registered",
    "approved",
    "availability",
    "button_data",
    "cancel",
    "finish_booking_first",
    "handle",
    "in_progress",
    "only_technicians",
    "parse_availability",
    "pending",
    "rejected",
    "reprompt",
    "start",
    "submitted",
    "summary_text",
]
