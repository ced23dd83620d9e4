"""``mistri-bot demo``: the whole flow in a terminal, offline, on the real code.

The customer types at the prompt; buttons are shown as numbered choices, and the other chats
(the technicians', an applicant's and the operators' chat) are printed beside, each in a
margin with its name; a prefix acts as someone else (``t1``, ``t/jobs``, ``o>…``, see
:data:`service.demo.cast.HELP`). Under the hood it is the production runtime and core, a real
SQLite database, and an in-process Bot API (:mod:`channels.telegram.fake_api`).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from conversations.catalogue import SERVICES
from conversations.common import LANGUAGE_PREFIX
from service.config import Settings
from service.demo import console
from service.demo.cast import CUSTOMER, DEMO_TOKEN, JAMAL, KARIM, OPERATOR, OPERATORS_CHAT, Person
from service.demo.chat import DemoChat
from service.demo.script import play
from service.demo.terminal import Terminal
from service.runtime import Runtime, start
from storage import technicians
from storage.crypto import new_secret

__all__ = ["CUSTOMER_ID", "FakeBotApi", "Terminal", "run_demo"]

#: The customer's chat id (tests address the demo's customer by it).
CUSTOMER_ID = CUSTOMER.user_id


async def _add_technicians(runtime: Runtime, people: tuple[Person, ...]) -> None:
    async with runtime.db.transaction() as tx:
        for person in people:
            if await technicians.find(tx, person=address(person.user_id)) is None:
                await technicians.add(
                    tx,
                    person=address(person.user_id),
                    name=person.name,
                    phone=person.phone or "",
                    services=[service.slug for service in SERVICES],
                    areas=["all"],
                    lang=person.lang,
                )


async def run_demo(
    settings: Settings,
    *,
    script: bool,
    lang: str | None,
    database: str | None,
    channel: str | None = "telegram",
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> int:
    """Run the demo; returns the exit status (non-zero when the scripted flow fails).

    ``channel``: the customer's, ``telegram`` or ``whatsapp``; None plays both scripts one
    after the other (``--script`` alone), or the Telegram demo when typed at the prompt.
    """
    if channel is None:
        channels = ("telegram", "whatsapp") if script else ("telegram",)
    else:
        channels = (channel,)
    with tempfile.TemporaryDirectory(prefix="mistri-demo-") as folder:
        path = Path(database) if database else Path(folder) / "demo.db"
        demo_settings = settings.model_copy(
            update={
                "database_url": f"sqlite+aiosqlite:///{path}",
                # A temporary database gets a throwaway key; a kept one the configured key.
                "data_key": settings.data_key if database else SecretStr(new_secret()),
                # The demo's own operators' chat, whose administrators are its operators.
                "admin_chat_id": OPERATORS_CHAT,
                "operator_ids": None,
            }
        )
        failures: list[str] = []
        for one in channels:
            part = _whatsapp if one == "whatsapp" else _telegram
            found = await part(demo_settings, path, script=script, lang=lang, out=out, stdin=stdin)
            # Played both, each failure says whose script it was.
            name = "WhatsApp" if one == "whatsapp" else "Telegram"
            failures += [f"{name}: {f}" if len(channels) > 1 else f for f in found]
        if not script:
            return 0
        if failures:
            print("\ndemo script: FAILED: " + "; ".join(failures), file=out)
            return 1
        print("\ndemo script: OK", file=out)
        return 0


async def _telegram(
    settings: Settings, path: Path, *, script: bool, lang: str | None, out: TextIO, stdin: TextIO
) -> list[str]:
    """The Telegram demo: everyone on Telegram; the script's failures (none when typed)."""
    api = FakeBotApi()
    api.administrators[OPERATORS_CHAT] = [OPERATOR.user_id]
    runtime = await start(
        settings, token=DEMO_TOKEN, request=OfflineRequest(api), rate_limit=False
    )
    try:
        await _add_technicians(runtime, (KARIM, JAMAL))
        chat = DemoChat(runtime, api, Terminal(api, out), lang or "bn")
        print(
            f"Mistri Services demo — offline, database {path}\n"
            "Customer Rahim (you); technicians Karim Uddin and Jamal Hossain, applicant"
            " Sumon Mia and the operators' chat (operator Nadia Akter) beside, each in"
            " its margin.\n",
            file=out,
        )
        if script:
            return await _play(play, chat)
        await console.run(chat, stdin)
        return []
    finally:
        await runtime.close()


async def _whatsapp(
    settings: Settings, path: Path, *, script: bool, lang: str | None, out: TextIO, stdin: TextIO
) -> list[str]:
    """Rahim on WhatsApp through ``serve``'s app; the technicians and operators on Telegram."""
    from service.demo import whatsapp, whatsapp_script

    api = FakeBotApi()
    api.administrators[OPERATORS_CHAT] = [OPERATOR.user_id]
    async with whatsapp.whatsapp_chat(settings, api, out, lang or "bn") as chat:
        await _add_technicians(chat.runtime, (KARIM, JAMAL))
        print(
            f"Mistri Services demo on WhatsApp — offline, database {path}\n" + whatsapp.INTRO,
            file=out,
        )
        if script:
            return await _play(whatsapp_script.play, chat)
        if lang == "en":
            # WhatsApp tells no language: Rahim starts in Bengali and taps English.
            await chat.say("/start")
            with contextlib.suppress(LookupError):  # no switch offered: he stays in Bengali
                await chat.press(CUSTOMER, f"{LANGUAGE_PREFIX}:en")
        await console.run(chat, stdin)
        return []


async def _play(player: Callable[[Any], Awaitable[list[str]]], chat: DemoChat) -> list[str]:
    try:
        return await player(chat)
    except LookupError as missing:
        return [str(missing)]
