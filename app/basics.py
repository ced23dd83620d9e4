"""The answers outside any flow: /start, /help, /language and its buttons, /cancel."""

from __future__ import annotations

from app import technicians
from app.core import Turn
from app.routes import button, command
from conversations import common, registration, router
from conversations.events import ButtonPress, Command
from conversations.i18n import LANGUAGES
from conversations.router import Outcome


@command("start")
async def start(turn: Turn, command: Command) -> Outcome:
    """The greeting; ``/start tech`` (the technicians' link) begins a registration."""
    if command.args == registration.DEEP_LINK:
        return await technicians.start_registration(turn)
    outcome = Outcome(turn.session.copy())
    outcome.reply.send(common.welcome(turn.lang, turn.event.sender.first_name))
    # Mid-booking, the step is asked again after the greeting.
    return router.resume(outcome, turn.context())


@command("help")
async def help_(turn: Turn, command: Command) -> Outcome:
    """What the bot can do, and how to reach a person."""
    contacts = turn.core.contacts
    outcome = Outcome(turn.session.copy())
    outcome.reply.send(common.help_text(turn.lang, contacts.support_phone, contacts.support_email))
    return router.resume(outcome, turn.context())


@command("language")
async def language(turn: Turn, command: Command) -> Outcome:
    """The language question."""
    outcome = Outcome(turn.session.copy())
    outcome.reply.send(common.language_menu(turn.lang))
    return outcome


@command("cancel")
async def cancel(turn: Turn, command: Command) -> Outcome:
    """/cancel with nothing to cancel (every flow takes its own /cancel)."""
    outcome = Outcome(turn.session.copy())
    outcome.reply.send(common.nothing_to_cancel(turn.lang))
    return outcome


@button(common.LANGUAGE_PREFIX)
async def switch_language(turn: Turn, press: ButtonPress) -> Outcome:
    """A language button: everything from now on in that language."""
    outcome = Outcome(turn.session.copy())
    lang = press.data.partition(":")[2]
    if lang not in LANGUAGES:
        outcome.reply.send(common.stale_button(turn.lang))
        return outcome
    outcome.session.lang = lang
    outcome.reply.send(common.language_set(lang))
    outcome.reply.toast = common.LANGUAGE_NAMES[lang]
    return router.resume(outcome, turn.context())
