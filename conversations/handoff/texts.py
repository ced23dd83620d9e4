"""What a handoff says: to the customer in their language, to the operators in English.

The operators see what the customer typed (quoted, escaped), their language and the
references of their open orders: never their phone, name or address (policy clause 3; the
reference lets an operator look the order up).
"""

from __future__ import annotations

from collections.abc import Sequence

from conversations.common import LANGUAGE_NAMES, contact_line, talk_buttons
from conversations.dates import clock
from conversations.hours import DHAKA, parse_hours
from conversations.i18n import translator
from conversations.outbound import Button, Outbound, Rows
from conversations.session import Context
from conversations.text import ASCII_NUMBER, bold, clean, esc, esc_line, quoted, shorten

PREFIX = "hd"
#: The customer's buttons: write to the team (under an answer of theirs), and go back.
OPEN_DATA = f"{PREFIX}:open"
BACK_DATA = f"{PREFIX}:back"
#: The operators' *Done* button under a thread's messages: ``op:hd:<thread>``.
DONE_KIND = "hd"
#: The operators' chat is addressed in English, as for escalations and applications.
OPERATORS_LANG = "en"
#: The longest operator's answer relayed (the prefix and the channel's limit leave room).
MAX_ANSWER = 3500


def back_buttons(lang: str, booking: bool) -> Rows:
    """The way out of the handoff: back to the booking (or to where they were)."""
    t = translator(lang)
    label = t._("⬅️ Back to my booking") if booking else t._("⬅️ Back")
    return ((Button(label, BACK_DATA),),)


def opened(lang: str, ctx: Context, *, aside: bool, booking: bool) -> list[Outbound]:
    """Said when a handoff starts: the message is with the team, and when they answer.

    With something set aside (``aside``; a booking when ``booking``), its suggested answers
    are taken away first (tapped here, they would go to the team), and a second message
    offers the way back; it comes back with them.
    """
    t = translator(lang)
    lines = ["💬 " + bold(t._("Your message is with our team."))]
    try:
        hours = parse_hours(ctx.support_hours)
    except ValueError:  # checked when the settings are read: never promise on a bad value
        hours = None
    if hours is not None and not hours.open_at(ctx.now):
        local = ctx.now.astimezone(DHAKA).time()
        when = t._("today") if local < hours.start else t._("tomorrow")
        lines.append(
            t._(
                "Our team answers from {start} to {end} (Dhaka time), so someone will answer"
                " you here after {start} {when}."
            ).format(start=clock(hours.start, lang), end=clock(hours.end, lang), when=when)
        )
    else:
        lines.append(t._("Someone from our team will answer you here."))
    lines.append(t._("Write here anything else you want them to know."))
    return _with_way_back(lang, "\n".join(lines), aside=aside, booking=booking)


def replying(lang: str, *, aside: bool, booking: bool) -> list[Outbound]:
    """Said after *Reply* under the team's answer: what they type now goes to the team."""
    text = translator(lang)._("Type your answer for our team here.")
    return _with_way_back(lang, text, aside=aside, booking=booking)


def _with_way_back(lang: str, text: str, *, aside: bool, booking: bool) -> list[Outbound]:
    t = translator(lang)
    if not aside:
        return [Outbound(text, buttons=back_buttons(lang, booking=False))]
    if booking:
        back = t._("Your booking is kept: tap below to go back to it.")
    else:
        back = t._("What you were doing is kept: tap below to go back to it.")
    return [Outbound(text, remove_keys=True), Outbound(back, buttons=back_buttons(lang, booking))]


def prompt(lang: str, *, booking: bool) -> Outbound:
    """Asked again in the handoff (after a command answered aside, or a hint)."""
    t = translator(lang)
    text = t._("You are writing to our team: type your message here.")
    return Outbound(text, buttons=back_buttons(lang, booking))


def sent(lang: str) -> Outbound:
    """After each later message: it went to the team."""
    return Outbound(translator(lang)._("✓ Sent to our team."))


def left(lang: str, *, resumed: bool) -> Outbound:
    """Said when the customer leaves the handoff; the team's answers still reach them."""
    t = translator(lang)
    if resumed:
        text = t._("Back to where you were. Our team's answers will still reach you here.")
        return Outbound(text)
    text = t._("OK. Our team's answers will still reach you here.")
    return Outbound(text, buttons=talk_buttons(lang))


def closed(lang: str) -> Outbound:
    """Told to the customer when an operator ends the conversation."""
    t = translator(lang)
    text = t._("✅ Our team has closed this conversation. Tap below to write to us again.")
    return Outbound(text, buttons=talk_buttons(lang))


def from_team(lang: str, answer: str) -> Outbound:
    """An operator's answer, relayed to the customer under the company's name."""
    t = translator(lang)
    body = esc(shorten(clean(answer), MAX_ANSWER))
    text = "💬 " + bold(t._("Mistri Services")) + ": " + body
    return Outbound(text, buttons=((Button(t._("↩️ Reply"), OPEN_DATA),),))


def nobody_to_answer(lang: str, ctx: Context) -> Outbound:
    """Said when no operators' chat is configured: nobody would read it; how else to reach us."""
    t = translator(lang)
    lines = [t._("Sorry, nobody can read messages here right now.")]
    if ctx.support_phone or ctx.support_email:
        lines.append(contact_line(lang, ctx.support_phone, ctx.support_email))
    return Outbound("\n".join(lines))


# --- to the operators -------------------------------------------------------------------


def done_data(thread_id: int) -> str:
    """The data of a thread's *Done* button (``op:hd:12``)."""
    return f"op:{DONE_KIND}:{thread_id}"


def parse_done(data: str) -> int | None:
    """Return the thread a ``op:hd:<id>`` button names."""
    head, _, number = data.rpartition(":")
    if head != f"op:{DONE_KIND}" or not ASCII_NUMBER.fullmatch(number):
        return None
    return int(number)


def to_operators(
    thread_id: int,
    customer_lang: str,
    references: Sequence[str],
    text: str | None,
    *,
    first: bool,
) -> Outbound:
    """A customer's message in the operators' chat: what they typed, language, orders."""
    t = translator(OPERATORS_LANG)
    language = LANGUAGE_NAMES.get(customer_lang, esc_line(customer_lang))
    orders = ", ".join(esc_line(reference) for reference in references) or t._("none open")
    if first:
        head = "🙋 " + bold(t._("Talk to a person · #{thread}").format(thread=thread_id))
    else:
        head = "💬 " + bold(t._("#{thread} writes").format(thread=thread_id))
    lines = [
        head,
        t._("Language: {language} · Orders: {orders}").format(language=language, orders=orders),
    ]
    if text:
        lines.append(quoted(text))
    else:
        lines.append(t._("(pressed “Talk to a person”; no message yet)"))
    if first:
        lines.append(
            "<i>"
            + t._("Reply to this message to answer; /done or the button ends the conversation.")
            + "</i>"
        )
    done = ((Button(t._("✅ Done"), done_data(thread_id)),),)
    return Outbound("\n".join(lines), buttons=done)


def relayed(thread_id: int) -> Outbound:
    """Told to the operators when an answer went to the customer."""
    return Outbound(translator(OPERATORS_LANG)._("↪️ Sent to #{thread}.").format(thread=thread_id))


def thread_closed(thread_id: int, *, already: bool) -> Outbound:
    """Told to the operators after /done (or when the thread was closed before)."""
    t = translator(OPERATORS_LANG)
    if already:
        text = t._(
            "#{thread} is closed; nothing was sent. The customer can write again with"
            " “Talk to a person”."
        )
    else:
        text = t._("✅ #{thread} closed; the customer was told.")
    return Outbound(text.format(thread=thread_id))


def no_thread() -> Outbound:
    """Told to the operators when /done names no conversation."""
    t = translator(OPERATORS_LANG)
    return Outbound(
        t._(
            "No such conversation (it may have been erased). Send /done as a reply to a"
            " conversation's message, or /done followed by its number."
        )
    )


def thread_erased() -> str:
    """What a thread's message reads where the channel keeps it after the customer's erasure."""
    return translator(OPERATORS_LANG)._("This conversation was erased at the customer's request.")
