"""What technicians are told when personal data goes: their own (/deleteme) or a customer's.

A technician's /deleteme asks first, saying what is erased and what is kept. When a customer
is erased, the job messages with their contact disappear from technicians' chats; where
Telegram refuses to delete a message (it keeps bots from deleting their own after 48 hours),
its text is replaced by :func:`job_erased`.
"""

from __future__ import annotations

from conversations.i18n import translator
from conversations.outbound import Button, Outbound
from conversations.text import bold, esc

PREFIX = "tdel"
CONFIRM_TECHNICIAN_DELETE = f"{PREFIX}:yes"


def confirm_technician_delete(lang: str, keep_data: str) -> Outbound:
    """Ask a technician before erasing them; ``keep_data`` is the No button's data."""
    t = translator(lang)
    text = "\n".join(
        (
            bold(t._("Leave Mistri Services and erase your data?")),
            t._(
                "We will erase your name and phone number and stop sending you jobs. Jobs you"
                " accepted and have not finished go back to our team, and their customers'"
                " contacts are removed from this chat. If you also booked with us as a"
                " customer, that data is erased too."
            ),
            t._(
                "We keep an anonymous record of the jobs you did (service, area, date) for our"
                " accounts; it cannot be linked to you."
            ),
        )
    )
    buttons = (
        (
            Button(t._("🗑 Yes, erase"), CONFIRM_TECHNICIAN_DELETE),
            Button(t._("Keep my data"), keep_data),
        ),
    )
    return Outbound(text, buttons=buttons)


def technician_deleted(lang: str) -> Outbound:
    """Confirm a technician's erasure."""
    t = translator(lang)
    text = t._(
        "Done: your data is erased and you will get no more jobs. Thank you for working with"
        " Mistri Services."
    )
    return Outbound(text, remove_keys=True)


def job_erased(
    lang: str, reference: str, message_id: str | None, *, pin_left: bool = False
) -> Outbound:
    """The text that replaces a job message Telegram would not let us delete (None: a new one)."""
    t = translator(lang)
    lines = [bold(esc(reference)), t._("This job's customer data was erased at their request.")]
    if pin_left:
        lines.append(
            t._("We could not remove this job's location pin: please delete it from this chat.")
        )
    return Outbound("\n".join(lines), replaces=message_id)


def job_withdrawn(
    lang: str, reference: str, message_id: str | None, *, pin_left: bool = False
) -> Outbound:
    """The text that replaces a job message of a technician who left, where deletion fails."""
    t = translator(lang)
    lines = [bold(esc(reference)), t._("This job went back to our team; its details are removed.")]
    if pin_left:
        lines.append(
            t._("We could not remove this job's location pin: please delete it from this chat.")
        )
    return Outbound("\n".join(lines), replaces=message_id)


def job_cancelled(lang: str, reference: str) -> Outbound:
    """Tell the assigned technician that a job is off because its customer was erased."""
    t = translator(lang)
    text = t._(
        "Job {reference} is cancelled: the customer asked us to erase their data. Please delete"
        " any copy of their contact you kept."
    ).format(reference=bold(esc(reference)))
    return Outbound(text)
