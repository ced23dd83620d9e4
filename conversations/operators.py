"""The operators' chat: the audit log, erasing a customer by phone, technicians who left.

Everything here names people by reference only (order references, internal ids, a masked
phone): the operators' chat is a group, and what is said in it stays in its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from conversations.catalogue import ALL_AREAS, area_label, service_label
from conversations.dates import moment
from conversations.digits import localize_digits
from conversations.i18n import translator
from conversations.jobs import with_channel
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, Button, Outbound
from conversations.phone import national_form
from conversations.text import ASCII_NUMBER, bold, esc, esc_line, shorten

PREFIX = "op"
ERASE = "erase"
KEEP = f"{PREFIX}:keep"
#: Commands answered in the operators' chat only (anywhere else they do not exist).
COMMANDS = ("audit", "erase", "orders", "technicians")
#: Accounts one confirmation can erase (their ids must fit in the button's 64 bytes).
MAX_ACCOUNTS = 5
_CHECK_LENGTH = 8


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One audit event as the operators see it."""

    at: datetime
    kind: str
    actor: str
    subject: str
    detail: str | None = None
    #: Which operator acted (``telegram:<id>``), for operators' actions.
    by: str | None = None


@dataclass(frozen=True, slots=True)
class EraseRequest:
    """A confirmed press: which customers (internal ids) and the check that they are the same."""

    customer_ids: tuple[int, ...]
    check: str


def audit_log(lang: str, events: Sequence[AuditLine]) -> Outbound:
    """/audit: the newest events first, one per line, in one message."""
    t = translator(lang)
    if not events:
        return Outbound(t._("The audit log is empty."))
    header = bold(t._("Audit log")) + " · " + t._("newest first, Asia/Dhaka time")
    more = t._("… older events are not shown.")
    text = header
    for event in events:
        when = moment(event.at, lang)
        actor = f"{event.actor} {event.by}" if event.by else event.actor
        fields = [when, event.kind, actor, event.subject]
        if event.detail:
            fields.append(event.detail)
        line = " · ".join(esc(field) for field in fields)
        if len(text) + len(line) + len(more) + 2 > MAX_TEXT:
            # Telegram's limit: one message, so the oldest of the batch give way.
            text += "\n" + more
            break
        text += "\n" + line
    return Outbound(text)


def erase_usage(lang: str, *, invalid: bool) -> Outbound:
    """How to use /erase (after a number that is not a Bangladeshi mobile, say so first)."""
    t = translator(lang)
    usage = t._("Send /erase with the customer's phone number, for example /erase 01712345678.")
    if invalid:
        usage = t._("That is not a Bangladeshi mobile number.") + " " + usage
    return Outbound(usage)


def erase_not_found(lang: str) -> Outbound:
    """No customer has the number: nothing to erase."""
    return Outbound(translator(lang)._("No one with that number: nothing was erased."))


def erase_button_data(customer_ids: Sequence[int], check: str) -> str:
    """Return the Yes button's data: internal customer ids and a check, never the phone."""
    return f"{PREFIX}:{ERASE}:{'.'.join(str(i) for i in customer_ids)}:{check}"


def parse_erase_button(data: str) -> EraseRequest | None:
    """Parse ``op:erase:12.34:9f3a2b1c``; None for anything else."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] != ERASE:
        return None
    ids = parts[2].split(".")
    if not 1 <= len(ids) <= MAX_ACCOUNTS or not all(ASCII_NUMBER.fullmatch(i) for i in ids):
        return None
    check = parts[3]
    if len(check) != _CHECK_LENGTH or not all(c in "0123456789abcdef" for c in check):
        return None
    return EraseRequest(tuple(int(i) for i in ids), check)


def erase_confirm(
    lang: str,
    *,
    masked_phone: str,
    accounts: int,
    orders: int,
    more_accounts: bool,
    data: str,
) -> Outbound:
    """Ask the operator to confirm erasing the customer(s) found by phone."""
    t = translator(lang)
    lines = [
        bold(t._("Erase this customer's data?")),
        t._("Phone") + ": " + localize_digits(masked_phone, lang),
        t._("Telegram accounts: {accounts} · orders: {orders}").format(
            accounts=localize_digits(str(accounts), lang),
            orders=localize_digits(str(orders), lang),
        ),
        t._(
            "Their name, phone numbers, addresses, location pins, problem descriptions and"
            " answers in progress are erased, and the job messages with their contact are"
            " removed from technicians' chats. Open orders are cancelled. This cannot be undone."
        ),
        t._("The customer gets no message from the bot."),
    ]
    if more_accounts:
        lines.append(t._("More accounts use this number: send /erase again afterwards."))
    if len(data.encode()) > MAX_BUTTON_DATA:  # pragma: no cover - MAX_ACCOUNTS keeps it short
        raise ValueError("erase button data too long")
    buttons = ((Button(t._("🗑 Yes, erase"), data), Button(t._("✖ No, keep"), KEEP)),)
    return Outbound("\n".join(lines), buttons=buttons)


def erased(lang: str, message_id: str | None) -> Outbound:
    """After Yes: the confirmation says it is done (and loses its buttons)."""
    text = "✅ " + translator(lang)._("Erased: that customer's data is gone.")
    return Outbound(text, replaces=message_id)


def erase_stale(lang: str, message_id: str | None) -> Outbound:
    """The confirmed customers are no longer the ones that were found: nothing happens."""
    t = translator(lang)
    text = t._("This request is out of date: nothing was erased. Send /erase again.")
    return Outbound(text, replaces=message_id)


def erase_kept(lang: str, message_id: str | None) -> Outbound:
    """After No: the confirmation says nothing was erased (and loses its buttons)."""
    return Outbound(translator(lang)._("Nothing was erased."), replaces=message_id)


def operators_help(lang: str) -> Outbound:
    """Any other command in the operators' group: what works here."""
    t = translator(lang)
    text = t._(
        "Commands in this chat: /orders lists the open orders; /technicians lists the"
        " technicians; /audit shows the latest data-rights actions; /erase followed by a phone"
        " number erases that customer. To answer a customer who asked for a person, reply to"
        " their message here; /done (as a reply, or /done 12) ends the conversation."
    )
    return Outbound(text)


def technician_left(lang: str, technician_id: int, references: Sequence[str]) -> Outbound:
    """Tell the operators a technician erased their data; their unfinished jobs need someone."""
    t = translator(lang)
    lines = [
        "⚠️ "
        + bold(
            t._("Technician #{id} left and erased their data.").format(
                id=localize_digits(str(technician_id), lang)
            )
        )
    ]
    if references:
        lines.append(
            t._("Their unfinished jobs are unassigned now; please arrange them:")
            + " "
            + ", ".join(bold(esc(reference)) for reference in references)
        )
    else:
        lines.append(t._("They had no unfinished jobs."))
    return Outbound("\n".join(lines))


# --- technicians' applications ---------------------------------------------------------------
# Unlike the rest of this module, an application names the applicant and shows their number:
# the operators call them to check before approving (as they call customers no one took).

APPROVE = "ok"
REJECT = "no"


@dataclass(frozen=True, slots=True)
class Applicant:
    """A technician's application as the operators see it (they call to check it)."""

    technician_id: int
    name: str
    phone: str
    services: tuple[str, ...]
    areas: tuple[str, ...]
    located: bool
    #: Where they applied from (``telegram``, ``whatsapp``): shown beside the name.
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationDecision:
    """A press on Approve / Reject: which application; only a hint, checked in the database."""

    technician_id: int
    approve: bool


def application_data(technician_id: int, *, approve: bool) -> str:
    """Return the data of an application's Approve (``op:ok:12``) or Reject (``op:no:12``)."""
    return f"{PREFIX}:{APPROVE if approve else REJECT}:{technician_id}"


def parse_application_button(data: str) -> ApplicationDecision | None:
    """Parse ``op:ok:<technician>`` / ``op:no:<technician>``; None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in (APPROVE, REJECT):
        return None
    if not ASCII_NUMBER.fullmatch(parts[2]):
        return None
    return ApplicationDecision(int(parts[2]), parts[1] == APPROVE)


def _applicant_lines(applicant: Applicant, lang: str) -> list[str]:
    t = translator(lang)
    if ALL_AREAS in applicant.areas:
        areas = t._("all areas")
    else:
        areas = ", ".join(area_label(slug, lang) for slug in applicant.areas)
    services = ", ".join(service_label(slug, lang) for slug in applicant.services)
    return [
        t._("Technician #{id}").format(id=localize_digits(str(applicant.technician_id), lang)),
        t._("Name") + ": " + _named(applicant),
        t._("Phone") + ": " + localize_digits(national_form(applicant.phone), lang),
        t._("Services") + ": " + esc(services),
        t._("Areas") + ": " + esc(areas),
        t._("Base location") + ": " + (t._("shared") if applicant.located else "—"),
    ]


def _named(applicant: Applicant) -> str:
    name = esc_line(applicant.name)
    if applicant.channel is None:
        return name
    return with_channel(name, applicant.channel)


def application(lang: str, applicant: Applicant) -> Outbound:
    """A new technician's application, with Approve / Reject."""
    t = translator(lang)
    lines = [
        "🧰 " + bold(t._("New technician application")),
        "",
        *_applicant_lines(applicant, lang),
        "",
        t._("Please call them to check before you approve. Approved, they get job offers."),
    ]
    buttons = (
        (
            Button(t._("✅ Approve"), application_data(applicant.technician_id, approve=True)),
            Button(t._("✖ Reject"), application_data(applicant.technician_id, approve=False)),
        ),
    )
    return Outbound("\n".join(lines), buttons=buttons)


def application_erased(lang: str, technician_id: int, message_id: str) -> Outbound:
    """The text that replaces an application the applicant erased, where deletion failed."""
    t = translator(lang)
    text = t._("Technician #{id}: the applicant erased their data.").format(
        id=localize_digits(str(technician_id), lang)
    )
    return Outbound("🧰 " + text, replaces=message_id)


def application_decided(
    lang: str,
    applicant: Applicant,
    *,
    approved: bool,
    by: str | None,
    message_id: str | None,
) -> Outbound:
    """The application message after a decision: who decided, buttons gone."""
    t = translator(lang)
    who = esc_line(shorten(by, 64)) if by else t._("an operator")
    if approved:
        header = "✅ " + bold(t._("Approved by {name}.").format(name=who))
    else:
        header = "✖ " + bold(t._("Rejected by {name}.").format(name=who))
    lines = [header, "", *_applicant_lines(applicant, lang)]
    return Outbound("\n".join(lines), replaces=message_id)


def application_settled(lang: str, status: str | None) -> Outbound:
    """A press on an application that was already decided, or whose applicant left."""
    t = translator(lang)
    if status == "approved":
        text = t._("This application was already approved.")
    elif status == "rejected":
        text = t._("This application was already rejected.")
    else:
        text = t._("This application no longer exists (the applicant left).")
    return Outbound(text)


def not_an_operator(lang: str) -> Outbound:
    """Said to a member of the operators' chat who may not act in it."""
    t = translator(lang)
    return Outbound(t._("Only the operators (the chat's administrators) can do this here."))


def own_application(lang: str) -> Outbound:
    """Said to an operator who presses Approve or Reject on their own application."""
    t = translator(lang)
    return Outbound(t._("You cannot decide your own application: another operator must."))
