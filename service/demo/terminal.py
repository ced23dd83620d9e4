"""What the demo prints: each chat's new messages, in its own margin, and the choices offered."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, TextIO

from channels.telegram.fake_api import FakeBotApi, Upload
from service.demo.cast import PANES, Pane

#: Long messages (the policy) are cut in the transcript; the bot sends them whole.
SHOW_LIMIT = 700
_SHOWN_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendLocation", "sendDocument"}
)


@dataclass
class Choice:
    """Something the person can tap: an inline button or a reply-keyboard key."""

    label: str
    data: str | None = None
    message_id: int | None = None
    request: str | None = None  # "contact" or "location" for reply keys


class Terminal:
    """Prints each chat's new messages and remembers the choices they offer."""

    def __init__(self, api: FakeBotApi, out: TextIO, panes: tuple[Pane, ...] = PANES) -> None:
        self.api = api
        self.out = out
        self.seen = 0
        self.panes = {pane.chat: pane for pane in panes}
        width = max(len(pane.label) for pane in panes)
        #: The customer's chat is at the left; everyone else's in a margin named after them.
        self.margins = {
            pane.chat: f"  {pane.label:<{width}} │ " if pane.label else "  " for pane in panes
        }
        self.choices: dict[int, list[Choice]] = {pane.chat: [] for pane in panes}
        self.keys: dict[int, list[Choice]] = {pane.chat: [] for pane in panes}
        #: The first line of every message shown, to say which one a deletion took away.
        self.first_lines: dict[tuple[int, int], str] = {}
        #: Messages deleted, per chat (their first lines), for the script's checks.
        self.deleted: dict[int, list[str]] = {pane.chat: [] for pane in panes}

    def options(self, chat: int) -> list[Choice]:
        """The buttons and keys ``chat`` offers now, in the order they are numbered."""
        return self.choices.get(chat, []) + self.keys.get(chat, [])

    def show_new(self) -> None:
        """Print every Bot API call since the last call to this."""
        calls = self.api.calls[self.seen :]
        self.seen = len(self.api.calls)
        for call in calls:
            chat = call.params.get("chat_id")
            if call.status != 200 or not isinstance(chat, int) or chat not in self.panes:
                continue
            if call.method == "deleteMessage":
                self._deleted(chat, int(call.params.get("message_id", 0)))
            elif call.method in _SHOWN_METHODS:
                message_id = call.message_id or call.params.get("message_id")
                self._show(chat, call.method, call.params, message_id)

    def _deleted(self, chat: int, message_id: int) -> None:
        first = self.first_lines.pop((chat, message_id), "")
        self.deleted[chat].append(first)
        if any(choice.message_id == message_id for choice in self.choices[chat]):
            self.choices[chat] = []
        self._print(chat, f"(message deleted) “{first}”" if first else "(message deleted)")

    def _show(
        self, chat: int, method: str, params: dict[str, Any], message_id: int | None
    ) -> None:
        who = "[bot → you]" if not self.panes[chat].label else "[bot]"
        if method == "sendLocation":
            self._print(chat, f"{who} 📍 pin at {params['latitude']}, {params['longitude']}")
            return
        if method == "sendDocument":
            self._print(chat, f"{who} {_document_line(params)}")
            return
        markup = params.get("reply_markup") or {}
        if method != "editMessageReplyMarkup":
            text = _plain(str(params.get("text", "")))
            if message_id is not None:
                self.first_lines[(chat, message_id)] = text.split("\n", 1)[0][:80]
            if len(text) > SHOW_LIMIT:
                text = text[:SHOW_LIMIT] + f"… [{len(text) - SHOW_LIMIT} more characters]"
            self._print(chat, f"{'[edited]' if method.startswith('edit') else who} {text}")
        self._take_choices(chat, method, markup, message_id)

    def _take_choices(
        self, chat: int, method: str, markup: dict[str, Any], message_id: int | None
    ) -> None:
        if "inline_keyboard" in markup:
            self.choices[chat] = [
                Choice(button["text"], button["callback_data"], message_id)
                for row in markup["inline_keyboard"]
                for button in row
            ]
        elif method == "sendMessage" and chat > 0:
            # A new message makes older buttons stale in a person's chat; in the operators'
            # chat the latest buttons stay at hand until a message with others comes.
            self.choices[chat] = []
        elif method.startswith("edit") and any(
            choice.message_id == message_id for choice in self.choices[chat]
        ):
            self.choices[chat] = []  # the message that had the buttons lost them
        if "keyboard" in markup:
            self.keys[chat] = [
                Choice(key["text"], request=_request(key))
                for row in markup["keyboard"]
                for key in row
            ]
        elif markup.get("remove_keyboard"):
            self.keys[chat] = []
        if "inline_keyboard" in markup or "keyboard" in markup:
            self._print_choices(chat)

    def _print_choices(self, chat: int) -> None:
        tag = self.panes[chat].tag
        options = self.options(chat)
        if options:
            line = "  ".join(f"[{tag}{n}] {choice.label}" for n, choice in enumerate(options, 1))
            self._print(chat, line)

    def _print(self, chat: int, text: str) -> None:
        margin = self.margins[chat]
        for line in text.splitlines() or [""]:
            print(f"{margin}{line}", file=self.out)


def _request(key: dict[str, Any]) -> str | None:
    if key.get("request_contact"):
        return "contact"
    return "location" if key.get("request_location") else None


def _document_line(params: dict[str, Any]) -> str:
    """Return ``📎 mistri-data-….json (N bytes)`` and the caption, for a sent file."""
    document = params.get("document")
    if isinstance(document, Upload):
        name, size = document.filename, len(document.content)
    else:  # a file_id sent again
        name, size = str(document), 0
    line = f"📎 {name} ({size} bytes)" if size else f"📎 {name}"
    caption = _plain(str(params.get("caption") or ""))
    return f"{line}\n{caption}" if caption else line


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"</?(b|i|u|s|code|pre|a|blockquote)[^>]*>", "", text))
