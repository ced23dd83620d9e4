"""Acting in the demo: sending what a person types or taps through the real runtime."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update

from channels.telegram.fake_api import FakeBotApi
from service.demo.cast import CUSTOMER, DHAKA, Person
from service.demo.terminal import Choice, Terminal
from service.runtime import Runtime


class DemoChat:
    """Sends updates as any person of the demo and prints what comes back."""

    def __init__(self, runtime: Runtime, api: FakeBotApi, terminal: Terminal, lang: str):
        self.runtime = runtime
        self.api = api
        self.terminal = terminal
        #: The customer's language (the others write in English).
        self.lang = lang

    def lang_of(self, person: Person) -> str:
        """The language ``person``'s Telegram app reports."""
        return self.lang if person == CUSTOMER else person.lang

    def _echo(self, person: Person, what: str) -> None:
        who = "you" if person == CUSTOMER else person.first_name
        print(f"{who}> {what}", file=self.terminal.out)

    async def send(self, update: dict[str, Any]) -> None:
        """Process one update through the real runtime and show the answers."""
        await self.runtime.process(Update.de_json(update, self.runtime.bot))
        # Notices the update queued (the job offer, "who is coming") go out before we print.
        await self.runtime.settle()
        self.terminal.show_new()

    def _text_update(self, person: Person, text: str) -> dict[str, Any]:
        lang = self.lang_of(person)
        if person.in_group:
            return self.api.group_text_update(
                person.chat, person.user_id, text, person.first_name, lang
            )
        return self.api.text_update(person.user_id, text, person.first_name, lang)

    async def say(self, text: str, person: Person = CUSTOMER, *, echo: bool = True) -> None:
        """``person`` types ``text`` in their chat (the customer by default)."""
        if echo:
            self._echo(person, text)
        await self.send(self._text_update(person, text))

    async def reply(self, person: Person, text: str) -> bool:
        """``person`` answers the bot's latest notice in their chat with Telegram's reply-to.

        False when the chat holds no message of the bot's to answer.
        """
        latest = self.latest_from_bot(person.chat)
        if latest is None:
            return False
        first = self.terminal.first_lines.get((person.chat, latest["message_id"]), "")
        self._echo(person, f"replies to “{first}”: {text}")
        update = self._text_update(person, text)
        update["message"]["reply_to_message"] = latest
        await self.send(update)
        return True

    def latest_from_bot(self, chat: int) -> dict[str, Any] | None:
        """The bot's newest notice in ``chat`` (a message with buttons), else its newest message.

        A notice is what one answers (a conversation with a customer, an application, an
        order nobody took); the bot's short acknowledgements after it are not.
        """
        held = [m for m in self.api.messages(chat) if (m.get("from") or {}).get("is_bot")]
        notices = [m for m in held if "inline_keyboard" in (m.get("reply_markup") or {})]
        found = notices or held
        return found[-1] if found else None

    async def tap(self, person: Person, choice: Choice) -> None:
        """``person`` taps a button or key in their chat."""
        self._echo(person, f"taps “{choice.label}”")
        name, lang = person.first_name, self.lang_of(person)
        if choice.data is not None and person.in_group:
            update = self.api.group_callback_update(
                person.chat,
                person.user_id,
                choice.data,
                choice.message_id or 0,
                first_name=name,
                language_code=lang,
            )
        elif choice.data is not None:
            update = self.api.callback_update(
                person.user_id, choice.data, choice.message_id or 0, name, lang
            )
        elif choice.request == "contact":
            phone = person.phone or ""
            update = self.api.contact_update(person.user_id, phone, person.user_id, name, lang)
        elif choice.request == "location":
            update = self.api.location_update(person.user_id, DHAKA[0], DHAKA[1], name, lang)
        else:
            update = self._text_update(person, choice.label)
        await self.send(update)

    def find(self, chat: int, match: Callable[[Choice], bool]) -> Choice:
        """Return the first offered choice in ``chat`` that ``match`` accepts."""
        for choice in self.terminal.options(chat):
            if match(choice):
                return choice
        owner = "your chat" if chat == CUSTOMER.chat else f"chat {chat}"
        raise LookupError(f"the expected button was not offered in {owner}")

    async def press(self, person: Person, prefix: str) -> None:
        """``person`` taps the first button in their chat whose data starts with ``prefix``."""
        try:
            choice = self.find(person.chat, lambda c: (c.data or "").startswith(prefix))
        except LookupError:
            raise LookupError(f"no “{prefix}…” button in {person.first_name}'s chat") from None
        await self.tap(person, choice)

    async def key(self, person: Person, match: Callable[[Choice], bool]) -> None:
        """``person`` taps the first reply key or button ``match`` accepts."""
        await self.tap(person, self.find(person.chat, match))
