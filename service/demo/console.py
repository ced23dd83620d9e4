"""The interactive demo: one line typed, one person acting, by the line's prefix."""

from __future__ import annotations

import re
from typing import TextIO

from service.demo.cast import BY_TAG, CUSTOMER, HELP, Person
from service.demo.chat import DemoChat

#: A prefix letter and what follows: a button number, a /command, ":" text or ">" a reply.
_PREFIXED = re.compile(r"([a-z])(\d+|/\S.*|:.*|>.*)", re.IGNORECASE | re.DOTALL)
_QUIT = frozenset({"/quit", "/exit", "quit", "exit"})
_HELP = frozenset({"?", "help"})


async def run(chat: DemoChat, stdin: TextIO) -> None:
    """Read lines until end of input or /quit, acting as whoever each line's prefix names."""
    out = chat.terminal.out
    print(HELP + "\n", file=out)
    await chat.say("/start")
    while True:
        print("> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            return
        text = line.strip()
        if text.lower() in _QUIT:
            return
        if text:
            await act(chat, text)


async def act(chat: DemoChat, text: str) -> None:
    """Carry out one typed line."""
    out = chat.terminal.out
    if text.lower() in _HELP:
        print(HELP, file=out)
        return
    prefixed = _PREFIXED.fullmatch(text)
    if prefixed is None:
        await _as(chat, CUSTOMER, text)
        return
    person = BY_TAG.get(prefixed.group(1).lower())
    if person is None:
        print(f"  (nobody is “{prefixed.group(1)}”) " + HELP.splitlines()[1], file=out)
        return
    await _as(chat, person, prefixed.group(2))


async def _as(chat: DemoChat, person: Person, typed: str) -> None:
    out = chat.terminal.out
    if typed.isdigit():
        options = chat.terminal.options(person.chat)
        if 1 <= int(typed) <= len(options):
            await chat.tap(person, options[int(typed) - 1])
            return
        if person != CUSTOMER:
            print(f"  (no button {typed} in {person.first_name}'s chat; ? shows how)", file=out)
            return
        # The customer's number that is no button is something typed: a phone, a house no.
    if person != CUSTOMER and typed.startswith(">"):
        if not await chat.reply(person, typed[1:].strip()):
            print("  (no message of the bot's there to reply to)", file=out)
        return
    if person != CUSTOMER and typed.startswith(":"):
        typed = typed[1:].strip()
    if typed:
        # The customer's own line was typed at the prompt: it is not echoed again.
        await chat.say(typed, person, echo=person != CUSTOMER)
