"""Moving through the booking's steps: ask one, go on, go back, start over, check the answers."""

from __future__ import annotations

from datetime import date

from conversations.booking.actions import OrderDraft
from conversations.booking.kept import keep_offer
from conversations.booking.prompts import (
    ADDRESS,
    AREA,
    AREA_OTHER,
    KEYBOARD_STEPS,
    NAME,
    PHONE,
    SERVICE,
    STEPS,
    SUMMARY,
    TIME,
    prompt,
)
from conversations.i18n import translator
from conversations.outbound import Outbound
from conversations.router import Outcome
from conversations.session import Context, Session
from conversations.text import one_line


def reprompt(session: Session, ctx: Context, hint: str | None = None) -> Outcome:
    """Ask the current step again, after an optional hint."""
    outcome = Outcome(session.copy())
    if hint:
        outcome.reply.send(Outbound(hint))
    send_prompt(outcome, ctx)
    return outcome


def cancel(session: Session) -> Outcome:
    """Leave the booking; nothing typed so far is kept."""
    t = translator(session.lang or "bn")
    new = session.copy()
    new.reset()
    outcome = Outcome(new)
    outcome.reply.send(
        Outbound(
            t._("Booking cancelled. Nothing you typed was saved. Send /book to start again."),
            remove_keys=True,
        )
    )
    return outcome


def enter(outcome: Outcome, step: str, ctx: Context, ack: str | None = None) -> None:
    """Move to ``step`` and ask it; the reply keyboard goes away when the new step has none."""
    previous = outcome.session.step
    outcome.session.step = step
    t = translator(outcome.session.lang or "bn")
    leaving_keys = previous in KEYBOARD_STEPS and step not in KEYBOARD_STEPS
    if ack or leaving_keys:
        outcome.reply.send(Outbound(ack or t._("OK."), remove_keys=leaving_keys))
    send_prompt(outcome, ctx)


def send_prompt(outcome: Outcome, ctx: Context) -> None:
    """Ask the outcome's step, with the answer already given there to keep."""
    outcome.reply.effects.extend(prompt(outcome.session, ctx))
    offer = keep_offer(outcome.session, ctx)
    if offer is not None:
        outcome.reply.send(offer)


# --- answers -------------------------------------------------------------------------------


def advance(outcome: Outcome, ctx: Context, ack: str | None = None) -> None:
    """Go to the step after the current one, or back to the summary when editing."""
    data = outcome.session.data
    if data.pop("editing", False):
        enter(outcome, SUMMARY, ctx, ack)
        return
    step = outcome.session.step
    current = AREA if step == AREA_OTHER else step
    enter(outcome, STEPS[STEPS.index(current) + 1], ctx, ack)


def back(session: Session, ctx: Context) -> Outcome:
    """Go one step back (or back to the summary when editing)."""
    outcome = Outcome(session.copy())
    data = outcome.session.data
    data.pop("edit_menu", None)
    if data.pop("editing", False):
        enter(outcome, SUMMARY, ctx)
        return outcome
    step = session.step
    if step == AREA_OTHER:
        target = AREA
    else:
        index = STEPS.index(step) if step in STEPS else 1
        target = STEPS[max(index - 1, 1)]
    enter(outcome, target, ctx)
    return outcome


def is_back(text: str, step: str) -> bool:
    """Tell whether a typed answer is the reply keyboard's *Back* key."""
    # The reply keyboard's Back key arrives as text; accept it in either language.
    return step in KEYBOARD_STEPS and text.strip() in BACK_LABELS


BACK_LABELS = frozenset(translator(lang)._("◀ Back") for lang in ("bn", "en")) | {"◀ Back"}


def draft(session: Session) -> OrderDraft | None:
    """The order the answers make (None when one is missing)."""
    data = session.data
    try:
        return OrderDraft(
            draft_id=str(data["draft"]),
            lang=session.lang or "bn",
            service=str(data["service"]),
            problem=data.get("problem"),
            area=str(data["area"]),
            area_other=_line(data.get("area_other")),
            address=_line(data.get("address")),
            latitude=data.get("lat"),
            longitude=data.get("lon"),
            phone=str(data["phone"]),
            name=one_line(str(data["name"])),
            visit_date=date.fromisoformat(str(data["visit_date"])),
            visit_part=str(data["visit_part"]),
        )
    except (KeyError, ValueError):
        return None


def _line(value: object) -> str | None:
    # Answers kept in a session from before one-line fields were cleaned on input are cleaned
    # here, so no order is stored with a line break in a name, an address or an area.
    return (one_line(str(value)) or None) if value else None


def first_missing(session: Session, ctx: Context) -> Outcome:
    """Go to the first step whose answer is missing."""
    data = session.data
    required = {
        SERVICE: "service",
        AREA: "area",
        PHONE: "phone",
        NAME: "name",
        TIME: "visit_part",
    }
    outcome = Outcome(session.copy())
    for step, key in required.items():
        if not data.get(key):
            enter(outcome, step, ctx)
            return outcome
    if data.get("address") is None and data.get("lat") is None:
        enter(outcome, ADDRESS, ctx)
        return outcome
    enter(outcome, SUMMARY, ctx)
    return outcome
