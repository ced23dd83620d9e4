"""Where an applicant or a technician stands: applied, waiting, approved, available or away."""

from __future__ import annotations

from conversations.common import talk_buttons
from conversations.i18n import Translator, translator
from conversations.outbound import Button, Outbound, Rows
from conversations.registration.prompts import AVAILABLE_OFF, AVAILABLE_ON
from conversations.text import bold


def submitted(lang: str) -> Outbound:
    """After Submit: the application is with the team."""
    t = translator(lang)
    text = "\n".join(
        (
            "📨 " + bold(t._("Application sent.")),
            t._(
                "Our team will check it, usually within a working day, and tell you here."
                " Until then you get no job offers."
            ),
        )
    )
    return Outbound(text)


def pending(lang: str) -> Outbound:
    """Said to an applicant whose application waits for the operators."""
    t = translator(lang)
    text = t._("Your technician application is being checked. We will tell you here.")
    return Outbound(text)


def already_registered(lang: str, *, available: bool) -> Outbound:
    """Said to an approved technician who sends /register (or opens the link) again."""
    t = translator(lang)
    lines = [
        t._("You are already registered as a technician."),
        _state_line(t, available),
        t._("/jobs shows your jobs; /away pauses new offers and /available resumes them."),
    ]
    return Outbound("\n".join(lines))


def approved(lang: str) -> Outbound:
    """Told to an applicant the operators approved."""
    t = translator(lang)
    text = "\n".join(
        (
            "✅ " + bold(t._("Your technician application is approved. Welcome!")),
            t._(
                "From now on you get job offers here for the services and areas you chose;"
                " accept one to see the customer's contact."
            ),
            t._("/jobs shows your jobs; /away pauses new offers and /available resumes them."),
        )
    )
    return Outbound(text)


def rejected(lang: str) -> Outbound:
    """Told to an applicant the operators turned down."""
    t = translator(lang)
    text = t._(
        "Sorry, your technician application was not approved. If you think this is a mistake,"
        " write to us here; you can also send /register to apply again."
    )
    return Outbound(text, buttons=talk_buttons(lang))


def finish_booking_first(lang: str) -> Outbound:
    """Said when /register arrives in the middle of a booking."""
    t = translator(lang)
    text = t._("You have a booking in progress. Finish it or send /cancel, then send /register.")
    return Outbound(text)


def in_progress(lang: str) -> str:
    """The hint before the current question when /register arrives mid-registration."""
    return translator(lang)._("Your registration is in progress; let's continue.")


def _state_line(t: Translator, available: bool) -> str:
    if available:
        return "🟢 " + t._("You are available: new jobs are offered to you.")
    return "⏸ " + t._("You are away: no new jobs are offered to you.")


def availability(
    lang: str, *, available: bool, active: bool, message_id: str | None = None
) -> Outbound:
    """The answer to /available, /away or their button: the state now, and the other switch."""
    t = translator(lang)
    lines = [bold(_state_line(t, available))]
    if available:
        lines.append(t._("Send /away (or tap below) when you cannot take jobs."))
        button = Button(t._("⏸ Go away"), AVAILABLE_OFF)
    else:
        lines.append(
            t._("Jobs you already accepted stay yours. Send /available (or tap below) to resume.")
        )
        button = Button(t._("🟢 I'm available"), AVAILABLE_ON)
    rows: Rows = ((button,),)
    if not active:
        lines.append(t._("Note: our team has paused your offers for now; please contact them."))
        rows += talk_buttons(lang)
    return Outbound("\n".join(lines), buttons=rows, replaces=message_id)


def parse_availability(data: str) -> bool | None:
    """Return True for the "available" button, False for "away", None for anything else."""
    if data == AVAILABLE_ON:
        return True
    if data == AVAILABLE_OFF:
        return False
    return None


def only_technicians(lang: str) -> Outbound:
    """Said to someone who is not a technician when they send /available or /away."""
    t = translator(lang)
    text = t._(
        "/available and /away are for registered technicians. To join as one, send /register."
    )
    return Outbound(text)
