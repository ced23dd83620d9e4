"""``mistri-bot demo``: the whole flow in a terminal, offline, on the real code.

The customer types at the prompt; buttons are shown as numbered choices, and the technician's
chat is printed beside (indented). Under the hood it is the production runtime and core, a
real SQLite database, and an in-process Bot API (:mod:`channels.telegram.fake_api`).
"""

from __future__ import annotations

import html
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from telegram import Update

from channels.telegram.fake_api import FakeBotApi, OfflineRequest, Upload
from channels.telegram.inbound import address
from conversations.catalogue import SERVICES
from service.config import Settings
from service.runtime import Runtime, start
from storage import technicians
from storage.crypto import new_secret

DEMO_TOKEN = "7000000001:DEMO-offline-token-not-real-000000"  # noqa: S105 - not a secret
CUSTOMER_ID = 5_000_001
TECHNICIAN_ID = 9_000_001
SECOND_TECHNICIAN_ID = 9_000_002
#: The demo's technicians: chat id → (name, first name, the prefix that taps their buttons).
TECHNICIANS = {
    TECHNICIAN_ID: ("Karim Uddin", "Karim", "t"),
    SECOND_TECHNICIAN_ID: ("Jamal Hossain", "Jamal", "j"),
}
CUSTOMER_PHONE = "+8801712345678"
DHAKA = (23.8103, 90.4125)
#: Long messages (the policy) are cut in the transcript; the bot sends them whole.
SHOW_LIMIT = 700


@dataclass
class Choice:
    """Something the person can tap: an inline button or a reply-keyboard key."""

    label: str
    data: str | None = None
    message_id: int | None = None
    request: str | None = None  # "contact" or "location" for reply keys


class Terminal:
    """Prints each chat's new messages and remembers the choices they offer."""

    def __init__(self, api: FakeBotApi, out: TextIO) -> None:
        self.api = api
        self.out = out
        self.seen = 0
        chats = [CUSTOMER_ID, *TECHNICIANS]
        self.choices: dict[int, list[Choice]] = {chat: [] for chat in chats}
        self.keys: dict[int, list[Choice]] = {chat: [] for chat in chats}

    def show_new(self) -> None:
        """Print every Bot API call since the last call to this."""
        calls = self.api.calls[self.seen :]
        self.seen = len(self.api.calls)
        for call in calls:
            if call.status != 200 or call.method not in (
                "sendMessage",
                "editMessageText",
                "sendLocation",
                "sendDocument",
            ):
                continue
            chat = int(call.params.get("chat_id", 0))
            self._show(chat, call.method, call.params, call.message_id)

    def _show(
        self, chat: int, method: str, params: dict[str, Any], call_message_id: int | None
    ) -> None:
        who = TECHNICIANS[chat][1] if chat in TECHNICIANS else "you"
        indent = "        │ " if chat in TECHNICIANS else "  "
        if method == "sendLocation":
            self._print(
                indent, f"[bot → {who}] 📍 pin at {params['latitude']}, {params['longitude']}"
            )
            return
        if method == "sendDocument":
            self._print(indent, f"[bot → {who}] {_document_line(params)}")
            return
        text = _plain(str(params.get("text", "")))
        if len(text) > SHOW_LIMIT:
            text = text[:SHOW_LIMIT] + f"… [{len(text) - SHOW_LIMIT} more characters]"
        label = "edited" if method == "editMessageText" else f"bot → {who}"
        self._print(indent, f"[{label}] {text}")
        markup = params.get("reply_markup") or {}
        if "inline_keyboard" in markup:
            message_id = call_message_id
            self.choices[chat] = [
                Choice(button["text"], button["callback_data"], message_id)
                for row in markup["inline_keyboard"]
                for button in row
            ]
        elif method == "sendMessage":
            self.choices[chat] = []
        if "keyboard" in markup:
            self.keys[chat] = [
                Choice(
                    key["text"],
                    request="contact"
                    if key.get("request_contact")
                    else "location"
                    if key.get("request_location")
                    else None,
                )
                for row in markup["keyboard"]
                for key in row
            ]
        elif markup.get("remove_keyboard"):
            self.keys[chat] = []
        if "inline_keyboard" in markup or "keyboard" in markup:
            self._print_choices(chat, indent)

    def _print_choices(self, chat: int, indent: str) -> None:
        tag = TECHNICIANS[chat][2] if chat in TECHNICIANS else ""
        options = self.choices[chat] + self.keys[chat]
        if options:
            line = "  ".join(f"[{tag}{n}] {choice.label}" for n, choice in enumerate(options, 1))
            self._print(indent, line)

    def _print(self, indent: str, text: str) -> None:
        for line in text.splitlines() or [""]:
            print(f"{indent}{line}", file=self.out)


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
    return html.unescape(re.sub(r"</?(b|i|u|s|code|pre|a)[^>]*>", "", text))


class DemoChat:
    """Sends updates as the customer or the technician and prints what comes back."""

    def __init__(self, runtime: Runtime, api: FakeBotApi, terminal: Terminal, lang: str):
        self.runtime = runtime
        self.api = api
        self.terminal = terminal
        self.lang = lang

    async def send(self, update: dict[str, Any]) -> None:
        """Process one update through the real runtime and show the answers."""
        await self.runtime.process(Update.de_json(update, self.runtime.bot))
        # Notices the update queued (the job offer, "who is coming") go out before we print.
        await self.runtime.settle()
        self.terminal.show_new()

    async def say(self, text: str) -> None:
        """The customer types ``text``."""
        print(f"you> {text}", file=self.terminal.out)
        await self.send(self.api.text_update(CUSTOMER_ID, text, "Rahim", self.lang))

    async def tap(self, chat: int, choice: Choice) -> None:
        """Tap a button or key in ``chat``."""
        who = TECHNICIANS[chat][1] if chat in TECHNICIANS else "you"
        print(f"{who}> taps “{choice.label}”", file=self.terminal.out)
        name = TECHNICIANS[chat][1] if chat in TECHNICIANS else "Rahim"
        lang = "en" if chat in TECHNICIANS else self.lang
        if choice.data is not None:
            update = self.api.callback_update(
                chat, choice.data, choice.message_id or 0, name, lang
            )
        elif choice.request == "contact":
            update = self.api.contact_update(chat, CUSTOMER_PHONE, chat, name, lang)
        elif choice.request == "location":
            update = self.api.location_update(chat, DHAKA[0], DHAKA[1], name, lang)
        else:
            update = self.api.text_update(chat, choice.label, name, lang)
        await self.send(update)

    def find(self, chat: int, match: Callable[[Choice], bool]) -> Choice:
        """Return the first offered choice in ``chat`` that ``match`` accepts."""
        for choice in self.terminal.choices[chat] + self.terminal.keys[chat]:
            if match(choice):
                return choice
        raise LookupError("the expected button was not offered")


async def _add_demo_technician(runtime: Runtime) -> None:
    phones = {TECHNICIAN_ID: "+8801812345678", SECOND_TECHNICIAN_ID: "+8801912345678"}
    async with runtime.db.transaction() as tx:
        for chat_id, (name, _, _) in TECHNICIANS.items():
            if await technicians.find(tx, person=address(chat_id)) is None:
                await technicians.add(
                    tx,
                    person=address(chat_id),
                    name=name,
                    phone=phones[chat_id],
                    services=[service.slug for service in SERVICES],
                    areas=["all"],
                    lang="en",
                )


async def _script(chat: DemoChat) -> bool:
    """Play a booking, a decline and an accept, /myorders, /privacy, /mydata, /deleteme."""

    def data(prefix: str) -> Callable[[Choice], bool]:
        return lambda choice: (choice.data or "").startswith(prefix)

    await chat.say("/start")
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("go:book")))
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("bk:consent:yes")))
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("bk:service:plumbing")))
    await chat.send(chat.api.sticker_update(CUSTOMER_ID, "Rahim", chat.lang))
    await chat.say("Kitchen tap is leaking <b>badly</b>")
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("bk:area:mirpur")))
    await chat.say("House 12, Road 5, Block C, Mirpur 10, near the mosque")
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, lambda c: c.request == "contact"))
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, lambda c: c.label == "Rahim"))
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("bk:time:")))
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("bk:summary:confirm")))
    # The first technician declines: the job moves on to the second, who accepts.
    await chat.tap(TECHNICIAN_ID, chat.find(TECHNICIAN_ID, data("job:dec:")))
    await chat.tap(SECOND_TECHNICIAN_ID, chat.find(SECOND_TECHNICIAN_ID, data("job:acc:")))
    await chat.say("/myorders")
    await chat.say("/privacy")
    await chat.say("/mydata")
    await chat.say("/deleteme")
    await chat.tap(CUSTOMER_ID, chat.find(CUSTOMER_ID, data("dr:delete:yes")))
    await chat.say("/mydata")

    def held_contact(chat_id: int) -> bool:
        texts = chat.api.texts(chat_id)
        return any("01712345678" in text or "০১৭১২৩৪৫৬৭৮" in text for text in texts)

    technician_got_contact = held_contact(SECOND_TECHNICIAN_ID)
    # The one who declined never held the customer's contact.
    decliner_kept_out = not held_contact(TECHNICIAN_ID)
    customer_told = any("Jamal Hossain" in text for text in chat.api.texts(CUSTOMER_ID))
    erased = "Done: your data is erased" in " ".join(chat.api.texts(CUSTOMER_ID)) or any(
        "মুছে" in text for text in chat.api.texts(CUSTOMER_ID)
    )
    return technician_got_contact and decliner_kept_out and customer_told and erased


async def _interactive(chat: DemoChat, stdin: TextIO) -> None:
    out = chat.terminal.out
    print(
        "Type as the customer. A number taps a button of yours; t1, t2… Karim's, j1, j2…"
        " Jamal's (the technicians)."
        " /quit ends.",
        file=out,
    )
    await chat.say("/start")
    while True:
        print("you> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            return
        text = line.strip()
        if text in ("/quit", "/exit", "quit", "exit"):
            return
        if not text:
            continue
        prefixes = {tag: chat_id for chat_id, (_, _, tag) in TECHNICIANS.items()}
        tag = text[:1].lower()
        chat_id, number = (
            (prefixes[tag], text[1:])
            if tag in prefixes and text[1:].isdigit()
            else (CUSTOMER_ID, text)
        )
        options = chat.terminal.choices[chat_id] + chat.terminal.keys[chat_id]
        if number.isdigit() and 1 <= int(number) <= len(options):
            await chat.tap(chat_id, options[int(number) - 1])
        elif chat_id in TECHNICIANS:
            print("  (that technician has no button with that number)", file=out)
        else:
            await chat.send(
                chat.api.text_update(CUSTOMER_ID, line.rstrip("\n"), "Rahim", chat.lang)
            )


async def run_demo(
    settings: Settings,
    *,
    script: bool,
    lang: str | None,
    database: str | None,
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> int:
    """Run the demo; returns the exit status (non-zero when the scripted flow fails)."""
    with tempfile.TemporaryDirectory(prefix="mistri-demo-") as folder:
        path = Path(database) if database else Path(folder) / "demo.db"
        demo_settings = settings.model_copy(
            update={
                "database_url": f"sqlite+aiosqlite:///{path}",
                "data_key": settings.data_key if database else new_secret(),
                "admin_chat_id": None,
            }
        )
        if database is None:
            from pydantic import SecretStr

            demo_settings.data_key = SecretStr(new_secret())
        api = FakeBotApi()
        runtime = await start(
            demo_settings, token=DEMO_TOKEN, request=OfflineRequest(api), rate_limit=False
        )
        try:
            await _add_demo_technician(runtime)
            chat = DemoChat(runtime, api, Terminal(api, out), lang or "bn")
            print(
                f"Mistri Services demo — offline, database {path}\n"
                "Customer Rahim (you); technicians Karim Uddin and Jamal Hossain (indented).\n",
                file=out,
            )
            if script:
                ok = await _script(chat)
                print("\ndemo script: " + ("OK" if ok else "FAILED"), file=out)
                return 0 if ok else 1
            await _interactive(chat, stdin)
            return 0
        finally:
            await runtime.close()
