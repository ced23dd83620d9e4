"""The technician's open jobs: /jobs, and the On the way / Done / Cancel steps of each.

The offer of a job (its notice, Accept/Decline, the contact hand-over) is
:mod:`conversations.jobs`; its lines of the job and of the contact are shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conversations.i18n import N_, translator
from conversations.jobs import PREFIX, contact_lines, job_lines
from conversations.outbound import Button, Outbound, Rows
from conversations.text import ASCII_NUMBER, bold, esc
from conversations.views import OrderView

WAY = "way"
DONE = "done"
CANCEL = "cxl"
#: ``job:why:<order>:<reason>``: the reason chosen after Cancel.
REASON = "why"
#: ``job:keep:<order>``: back from the reason question, the job kept.
KEEP = "keep"
#: Why a technician gives a job back (stored as ``technician:<key>`` in ``cancel_reason``).
CANCEL_REASONS = {
    "unreachable": N_("Customer not reachable"),
    "cannot": N_("Can't do this job"),
    "other": N_("Other"),
}
_STATUS_ACTIONS = (WAY, DONE, CANCEL, KEEP)


@dataclass(frozen=True, slots=True)
class StatusButton:
    """A parsed press on an open job's button; a hint of what was meant, never proof."""

    action: str
    order_id: int
    reason: str | None = None


def status_data(action: str, order_id: int, reason: str | None = None) -> str:
    """Return the button data of a job action (``job:way:17``, ``job:why:17:cannot``)."""
    return f"{PREFIX}:{action}:{order_id}" + (f":{reason}" if reason else "")


def parse_status_button(data: str) -> StatusButton | None:
    """Parse ``job:way|done|cxl|keep:<order>`` and ``job:why:<order>:<reason>``."""
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != PREFIX or not ASCII_NUMBER.fullmatch(parts[2]):
        return None
    if len(parts) == 3 and parts[1] in _STATUS_ACTIONS:
        return StatusButton(parts[1], int(parts[2]))
    if len(parts) == 4 and parts[1] == REASON and parts[3] in CANCEL_REASONS:
        return StatusButton(REASON, int(parts[2]), parts[3])
    return None


def _status_buttons(order: OrderView, lang: str) -> Rows:
    """What an open job offers next: On the way (assigned) or Done (on the way), and Cancel."""
    t = translator(lang)
    cancel = Button(t._("✖ Cancel"), status_data(CANCEL, order.order_id))
    if order.status == "assigned":
        return ((Button(t._("🚗 On the way"), status_data(WAY, order.order_id)), cancel),)
    if order.status == "on_the_way":
        return ((Button(t._("✅ Done"), status_data(DONE, order.order_id)), cancel),)
    return ()


def _open_job_text(order: OrderView, lang: str, header: str | None) -> str:
    t = translator(lang)
    state = t._("Status") + ": " + _job_state(order.status, lang)
    lines = [*job_lines(order, lang), *contact_lines(order, lang), state]
    return "\n".join((header, "", *lines) if header else lines)


#: A job's state as its technician reads it.
JOB_STATE_NAMES = {
    "new": N_("back with our team"),
    "offered": N_("back with our team"),
    "unassigned": N_("back with our team"),
    "assigned": N_("accepted, not on the way yet"),
    "on_the_way": N_("on the way"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}


def _job_state(status: str, lang: str) -> str:
    return translator(lang)._(JOB_STATE_NAMES.get(status, status))


def open_jobs(
    lang: str, orders: list[OrderView], offers: Mapping[int, int] | None = None
) -> list[Outbound]:
    """/jobs: one message per open job, with its contact and the buttons for its next step.

    ``offers`` maps an order to its accepted offer: each message names it as the one whose
    contact it shows, so erasing the customer deletes the message too.
    """
    t = translator(lang)
    if not orders:
        return [Outbound(t._("You have no open jobs."))]
    offers = offers or {}
    messages = []
    for index, order in enumerate(orders):
        header = bold(t._("Your open jobs")) if index == 0 else None
        text = _open_job_text(order, lang, header)
        messages.append(
            Outbound(
                text,
                buttons=_status_buttons(order, lang),
                shows_offer=offers.get(order.order_id),
            )
        )
    return messages


def on_the_way_set(lang: str, order: OrderView, message_id: str | None) -> Outbound:
    """After On the way: the job message says so and offers Done and Cancel."""
    t = translator(lang)
    header = "🚗 " + bold(t._("On the way: the customer has been told."))
    return Outbound(
        _open_job_text(order, lang, header),
        buttons=_status_buttons(order, lang),
        replaces=message_id,
    )


def done_set(lang: str, order: OrderView, message_id: str | None) -> Outbound:
    """After Done: the job message says so and loses its buttons."""
    t = translator(lang)
    header = "✅ " + bold(t._("Done. Thank you! The customer is asked to rate the job."))
    text = "\n".join((header, "", *job_lines(order, lang)))
    return Outbound(text, replaces=message_id)


def ask_cancel_reason(lang: str, order: OrderView, message_id: str | None) -> Outbound:
    """After Cancel: why (the job goes to another technician), or keep it after all."""
    t = translator(lang)
    header = bold(t._("Why can't you do this job?"))
    note = t._("It goes to another technician and the customer is told.")
    text = "\n".join((header, note, "", *job_lines(order, lang)))
    reasons = [
        (Button(t._(label), status_data(REASON, order.order_id, key)),)
        for key, label in CANCEL_REASONS.items()
    ]
    buttons = (*reasons, (Button(t._("↩ Keep the job"), status_data(KEEP, order.order_id)),))
    return Outbound(text, buttons=buttons, replaces=message_id)


def job_kept(lang: str, order: OrderView, message_id: str | None) -> Outbound:
    """After Keep the job: the job message as /jobs shows it again."""
    return Outbound(
        _open_job_text(order, lang, None),
        buttons=_status_buttons(order, lang),
        replaces=message_id,
    )


def job_given_back(lang: str, order: OrderView, reason: str, message_id: str | None) -> Outbound:
    """After a reason: the job is no longer theirs (contact left out of the new text)."""
    t = translator(lang)
    header = "✖ " + bold(t._("You gave this job back. We are finding another technician."))
    why = t._("Reason") + ": " + t._(CANCEL_REASONS.get(reason, reason))
    text = "\n".join((header, why, "", *job_lines(order, lang)))
    return Outbound(text, replaces=message_id)


def job_not_yours(lang: str) -> Outbound:
    """Said when someone presses a button of a job that is not assigned to them."""
    return Outbound(translator(lang)._("This job is not assigned to you."))


def job_moved_on(lang: str, reference: str, status: str) -> Outbound:
    """Said when a job button no longer fits the job's state (pressed twice, or too late)."""
    t = translator(lang)
    text = t._("That button no longer applies: job {reference} is {state} now.").format(
        reference=bold(esc(reference)), state=_job_state(status, lang)
    )
    return Outbound(text)


def not_on_the_way_yet(lang: str, reference: str) -> Outbound:
    """Said when Done is pressed on a job the technician has not set out for."""
    t = translator(lang)
    text = t._("Job {reference}: please tap “On the way” first, then “Done”.").format(
        reference=bold(esc(reference))
    )
    return Outbound(text)


def cancelled_by_customer(lang: str, reference: str) -> Outbound:
    """Told to the assigned technician when the customer cancels the order."""
    t = translator(lang)
    text = t._("❌ Job {reference} is cancelled: the customer cancelled the order.").format(
        reference=bold(esc(reference))
    )
    return Outbound(text)


def not_a_technician(lang: str) -> Outbound:
    """Said when someone who is not a technician sends /jobs."""
    return Outbound(translator(lang)._("/jobs is for registered technicians."))
