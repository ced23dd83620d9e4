"""Answers already given: shown again when the customer comes back to a step, kept with a tap.

Back (or an edit from the summary) never forgets an answer; the step it returns to shows what
was answered there with a *Keep* button, so going forward again needs no retyping. Only a new
answer changes one.
"""

from __future__ import annotations

from datetime import date

from conversations.booking.prompts import (
    ADDRESS,
    AREA,
    AREA_OTHER,
    MAX_NAME,
    NAME,
    PHONE,
    PROBLEM,
    SERVICE,
    SUMMARY_ECHO,
    TIME,
    address_text,
    area_of,
    button_data,
)
from conversations.catalogue import OTHER_AREA, SERVICES_BY_SLUG, service_label
from conversations.digits import localize_digits
from conversations.i18n import Translator, translator
from conversations.outbound import Button, Outbound
from conversations.phone import national_form
from conversations.session import Context, Session
from conversations.slots import format_visit, open_slots, slot_date
from conversations.text import esc, one_line, shorten

#: The button value that keeps a step's answer: ``bk:phone:keep``.
KEEP = "keep"


def answer_so_far(session: Session, ctx: Context, t: Translator) -> str | None:
    """The answer already given at the session's step, ready to show (None when there is none)."""
    data, step, lang = session.data, session.step, t.lang
    if step == SERVICE and data.get("service") in SERVICES_BY_SLUG:
        return esc(service_label(str(data["service"]), lang))
    if step == PROBLEM and data.get("problem"):
        return esc(shorten(one_line(str(data["problem"])), SUMMARY_ECHO))
    if step == AREA and data.get("area"):
        return esc(area_of(data, lang))
    if step == AREA_OTHER and data.get("area") == OTHER_AREA and data.get("area_other"):
        return esc(area_of(data, lang))
    if step == ADDRESS and (data.get("address") or data.get("lat") is not None):
        return address_text(t, data.get("address"), data.get("lat"))
    if step == PHONE and data.get("phone"):
        return localize_digits(national_form(str(data["phone"])), lang)
    if step == NAME and data.get("name"):
        return esc(shorten(one_line(str(data["name"])), MAX_NAME))
    if step == TIME and _still_open(data, ctx):
        day = date.fromisoformat(str(data["visit_date"]))
        return esc(format_visit(day, str(data["visit_part"]), lang))
    return None


def keep_offer(session: Session, ctx: Context) -> Outbound | None:
    """The answer given at this step with a button to keep it (None when there is none)."""
    t = translator(session.lang or "bn")
    shown = answer_so_far(session, ctx, t)
    if shown is None:
        return None
    button = Button(t._("✅ Keep this"), button_data(session.step, KEEP))
    return Outbound(t._("Current answer: {answer}").format(answer=shown), buttons=((button,),))


def _still_open(data: dict[str, object], ctx: Context) -> bool:
    # A time chosen earlier may have passed while the customer went back: not offered then.
    chosen, part = data.get("visit_date"), data.get("visit_part")
    if not isinstance(chosen, str) or not isinstance(part, str):
        return False
    try:
        day = date.fromisoformat(chosen)
    except ValueError:
        return False
    return any(
        slot.part == part and slot_date(slot, ctx.now) == day for slot in open_slots(ctx.now)
    )
