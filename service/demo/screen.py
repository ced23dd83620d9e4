"""Rahim's WhatsApp chat in the terminal: what the Cloud API was asked to show, as it shows it.

Read from the fake Graph API's record (the requests it accepted for Rahim's WhatsApp id):
reply buttons as ``[1] …``, a list message as its button and rows (``≡ Choose: [1] …``, a
further page continuing the numbers), a location request as a choice that sends a pin,
documents, pins and templates. The numbers stand for the choices of the bot's latest answer:
an answer with no choices leaves none (on WhatsApp older buttons stay tappable, and the
database judges a stale tap, but the demo numbers only the latest).
"""

from __future__ import annotations

from typing import Any, TextIO

from channels.whatsapp.fake_api import FakeGraphApi
from service.demo.terminal import SHOW_LIMIT, Choice, Terminal

#: What the left margin says a line is.
FROM_BOT = "[bot → you · WhatsApp]"


class WhatsAppScreen:
    """Prints the WhatsApp messages sent to one person and remembers what they can tap."""

    def __init__(self, api: FakeGraphApi, wa_id: str, out: TextIO) -> None:
        self.api = api
        self.wa_id = wa_id
        self.out = out
        self.seen = 0
        #: What the person can tap now, numbered from 1.
        self.choices: list[Choice] = []
        #: The WhatsApp message id each choice came with (a reply's ``context``), by position.
        self.contexts: list[str | None] = []
        #: Every request shown, in order (tests read the transcript's source from here).
        self.shown: list[dict[str, Any]] = []

    def show_new(self) -> None:
        """Print the messages sent to the person since the last call to this."""
        calls = self.api.calls[self.seen :]
        self.seen = len(self.api.calls)
        batch = [
            call
            for call in calls
            if call.path == "messages"
            and call.status == 200
            and call.body.get("to") == self.wa_id
            and "type" in call.body  # not a mark-as-read
        ]
        if not batch:
            return
        choices: list[Choice] = []
        contexts: list[str | None] = []
        for call in batch:
            self.shown.append(call.body)
            for choice in self._show(call.body, len(choices)):
                choices.append(choice)
                contexts.append(call.message_id)
        self.choices, self.contexts = choices, contexts

    def context(self, choice: Choice) -> str | None:
        """The id of the message ``choice`` belongs to."""
        for offered, context in zip(self.choices, self.contexts, strict=True):
            if offered is choice:
                return context
        return None

    def _show(self, body: dict[str, Any], numbered: int) -> list[Choice]:
        kind = body["type"]
        content = body.get(kind) or {}
        if kind == "text":
            self._print(f"{FROM_BOT} {_cut(content['body'])}")
        elif kind == "location":
            self._print(f"{FROM_BOT} 📍 pin at {content['latitude']}, {content['longitude']}")
        elif kind == "document":
            self._print(f"{FROM_BOT} {self._document(content)}")
        elif kind == "template":
            language = content.get("language", {}).get("code", "")
            self._print(f"{FROM_BOT} (template {content.get('name')}, {language})")
        elif kind == "interactive":
            return self._interactive(content, numbered)
        return []

    def _interactive(self, content: dict[str, Any], numbered: int) -> list[Choice]:
        kind = content["type"]
        action = content.get("action") or {}
        self._print(f"{FROM_BOT} {_cut(content['body']['text'])}")
        choices: list[Choice] = []
        if kind == "button":
            choices = [
                Choice(button["reply"]["title"], button["reply"]["id"], request="button")
                for button in action["buttons"]
            ]
            self._print(_numbered(choices, numbered))
        elif kind == "list":
            for section in action["sections"]:
                if section.get("title"):
                    self._print(f"  ── {section['title']}")
                rows = [Choice(row["title"], row["id"], request="row") for row in section["rows"]]
                descriptions = [row.get("description") for row in section["rows"]]
                lines = [
                    f"[{numbered + len(choices) + n}] {row.label}"
                    + (f" — {description}" if description else "")
                    for n, (row, description) in enumerate(zip(rows, descriptions, strict=True), 1)
                ]
                self._print(f"≡ {action['button']}: " + "  ".join(lines))
                choices.extend(rows)
        elif kind == "location_request_message":
            choices = [Choice("📍 Send location", request="location")]
            self._print(_numbered(choices, numbered) + "  (WhatsApp's location picker)")
        return choices

    def _document(self, content: dict[str, Any]) -> str:
        try:
            size = len(self.api.media(content["id"])[1])
        except KeyError:
            size = 0
        line = f"📎 {content.get('filename', 'file')} ({size} bytes, multipart upload)"
        caption = content.get("caption")
        return f"{line}\n{_cut(caption)}" if caption else line

    def _print(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            print(f"  {line}", file=self.out)


def _numbered(choices: list[Choice], numbered: int) -> str:
    return "  ".join(f"[{numbered + n}] {choice.label}" for n, choice in enumerate(choices, 1))


def _cut(text: str) -> str:
    if len(text) > SHOW_LIMIT:
        return text[:SHOW_LIMIT] + f"… [{len(text) - SHOW_LIMIT} more characters]"
    return text


class SplitTerminal(Terminal):
    """The Telegram chats in their margins, and the customer's WhatsApp chat at the left."""

    def __init__(self, api: Any, out: TextIO, screen: WhatsAppScreen, customer_chat: int):
        super().__init__(api, out)
        self.whatsapp = screen
        self._customer_chat = customer_chat

    def options(self, chat: int) -> list[Choice]:
        """The customer's choices are WhatsApp's; everyone else's Telegram's."""
        if chat == self._customer_chat:
            return list(self.whatsapp.choices)
        return super().options(chat)

    def show_new(self) -> None:
        """Print the new Telegram messages, then the new WhatsApp ones."""
        super().show_new()
        self.whatsapp.show_new()
