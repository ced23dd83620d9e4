"""Welcome, help, language choice and the answers outside any flow."""

from __future__ import annotations

from conversations.digits import localize_digits
from conversations.i18n import LANGUAGES, translator
from conversations.outbound import Button, Outbound, Rows
from conversations.session import Context
from conversations.text import bold, esc

LANGUAGE_PREFIX = "lang"
BOOK_DATA = "go:book"
#: The "Talk to a person" button (the handoff flow, ``conversations/handoff``, claims it).
TALK_DATA = "hd:start"
LANGUAGE_NAMES = {"bn": "বাংলা", "en": "English"}


def language_buttons(current: str) -> Rows:
    """Buttons to switch language, the current one marked."""
    return (
        tuple(
            Button(
                ("✓ " if lang == current else "") + LANGUAGE_NAMES[lang],
                f"{LANGUAGE_PREFIX}:{lang}",
            )
            for lang in LANGUAGES
        ),
    )


def welcome(lang: str, first_name: str | None) -> Outbound:
    """The /start greeting with a Book button and the language switch."""
    t = translator(lang)
    greeting = t._("Hello, {name}!").format(name=esc(first_name)) if first_name else t._("Hello!")
    text = "\n".join(
        (
            f"<b>{greeting}</b>",
            t._(
                "Welcome to Mistri Services. We send trusted technicians to your home in Dhaka:"
                " house shifting, masons, plumbers, electricians, AC servicing and repairs."
            ),
            "",
            t._("Tap “Book a technician” to begin. /help shows everything I can do."),
        )
    )
    other = "en" if lang == "bn" else "bn"
    buttons: Rows = (
        (Button(t._("📋 Book a technician"), BOOK_DATA),),
        (Button("🌐 " + LANGUAGE_NAMES[other], f"{LANGUAGE_PREFIX}:{other}"),),
    )
    return Outbound(text, buttons=buttons)


def talk_buttons(lang: str) -> Rows:
    """The "Talk to a person" button, for messages after which someone may want a person."""
    return ((Button(translator(lang)._("🙋 Talk to a person"), TALK_DATA),),)


def help_text(lang: str, support_phone: str | None, support_email: str | None) -> Outbound:
    """The /help message: what the bot can do and how to reach people."""
    t = translator(lang)
    lines = [
        bold(t._("What I can do")),
        t._("/book — book a technician"),
        t._("/myorders — your orders and their status"),
        t._("/cancel — stop the booking in progress"),
        t._("/mydata — see and correct what we hold about you"),
        t._("/deleteme — erase your data"),
        t._("/privacy — our privacy policy"),
        t._("/language — বাংলা or English"),
        "",
        t._(
            "Technicians: /jobs shows your jobs, /available and /away set whether you get new"
            " ones, /register applies to join."
        ),
        "",
    ]
    lines.append(contact_line(t.lang, support_phone, support_email))
    return Outbound("\n".join(lines), buttons=talk_buttons(lang))


def contact_line(lang: str, support_phone: str | None, support_email: str | None) -> str:
    """How to reach a person at the company, from configuration."""
    t = translator(lang)
    parts = []
    if support_phone:
        parts.append(t._("Phone: {phone}").format(phone=localize_digits(esc(support_phone), lang)))
    if support_email:
        parts.append(t._("Email: {email}").format(email=esc(support_email)))
    if not parts:
        return t._(
            "To reach a person, tap “Talk to a person” (under /help) or write “talk to a person”"
            " here in this chat."
        )
    return (
        t._("To reach a person:")
        + " "
        + ", ".join(parts)
        + "; "
        + t._("or write “talk to a person” here in this chat.")
    )


def consent_declined(lang: str, ctx: Context) -> Outbound:
    """Said when someone declines the privacy consent: how else to reach us, honestly."""
    t = translator(lang)
    text = "\n".join(
        (
            t._(
                "No problem: we saved nothing. Without these details we cannot send a"
                " technician. Send /book whenever you are ready."
            ),
            contact_line(lang, ctx.support_phone, ctx.support_email),
        )
    )
    return Outbound(text, buttons=talk_buttons(lang))


def language_menu(lang: str) -> Outbound:
    """The /language question."""
    t = translator(lang)
    return Outbound(t._("Choose your language:"), buttons=language_buttons(lang))


def language_set(lang: str) -> Outbound:
    """Confirmation after a language switch, in the new language."""
    return Outbound(translator(lang)._("Language set to English."))


def idle_hint(lang: str) -> Outbound:
    """The answer to anything sent outside a conversation."""
    t = translator(lang)
    text = t._("To book a technician, tap the button or send /book. /help shows all commands.")
    return Outbound(text, buttons=((Button(t._("📋 Book a technician"), BOOK_DATA),),))


def unknown_command(lang: str, name: str) -> Outbound:
    """The answer to a command we do not have."""
    t = translator(lang)
    text = t._("I don't know the command /{name}. /help shows what I can do.").format(
        name=esc(name[:32])
    )
    return Outbound(text)


def stale_button(lang: str) -> Outbound:
    """The answer to a button from a message that no longer applies."""
    t = translator(lang)
    text = t._(
        "That button is from an earlier message and no longer applies."
        " Send /book to start a booking, or /help."
    )
    return Outbound(text)


def already_booking(lang: str) -> Outbound:
    """Said when /book arrives while a booking is in progress."""
    t = translator(lang)
    return Outbound(
        t._("You have a booking in progress; let's continue it. Send /cancel to start over."),
    )


def nothing_to_cancel(lang: str) -> Outbound:
    """Said when /cancel arrives outside a booking."""
    return Outbound(translator(lang)._("There is no booking in progress to cancel."))


def error_apology(lang: str) -> Outbound:
    """Said when something failed on our side; the person's answers are kept."""
    t = translator(lang)
    return Outbound(
        t._("Sorry, something went wrong on our side. Your answers are kept; please try again."),
        buttons=talk_buttons(lang),
    )


def slow_down(lang: str) -> Outbound:
    """Said once when someone sends faster than the bot answers anyone; the rest is ignored."""
    t = translator(lang)
    return Outbound(
        t._(
            "You are sending messages very fast. Please wait a few seconds: messages sent "
            "until then are not read. Then send your answer again."
        )
    )


def file_not_sent(lang: str) -> Outbound:
    """Said instead of a file that could not be sent just now (it is not kept to send later)."""
    t = translator(lang)
    return Outbound(t._("The file could not be sent just now. Please ask for it again."))
