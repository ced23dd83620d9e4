"""The kill harness's customers: each books once, posting to the workers as a load balancer does.

A post that fails (the worker is down, the connection reset) goes to the next worker with the
same update id, as Telegram and Meta redeliver; an update whose answer does not come within
``redeliver_after`` is posted again. A customer whose answer never comes although its update
is done (its answer was lost in a kill) stops there: counted in ``answers_lost``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from channels.telegram.fake_api import FakeBotApi
from channels.whatsapp.fake_api import Webhooks, signed
from tests.service import serve_child

#: Connections the customers post on at once (webhooks come on a few, kept alive).
CONNECTIONS = 32
FIRST_USER = 20_000_000
FIRST_WA_ID = 8801_600_000_000

#: A post, and the inbox's id of its update: (path, body, headers, channel, external id).
Post = tuple[str, bytes, dict[str, str], str, str]


@dataclass
class Counts:
    """What the customers did and met."""

    posts: int = 0
    failed_over: int = 0
    redeliveries: int = 0
    lost: int = 0
    stuck: list[str] = field(default_factory=list)


class Customers:
    """Drives the customers of a run against the workers' ports."""

    def __init__(
        self,
        *,
        ports: list[int],
        chats: Any,
        bot_api: FakeBotApi,
        pool: asyncpg.Pool,
        redeliver_after: float,
        step_deadline: float,
        think: tuple[float, float],
        rng: random.Random,
    ) -> None:
        self._ports = ports
        self._chats = chats
        self._api = bot_api
        self._hooks = Webhooks()
        self._pool = pool
        self._redeliver = redeliver_after
        self._deadline = step_deadline
        self._think = think
        self._rng = rng
        self._turn = 0
        self.counts = Counts()
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        # Posts wait for a connection here, not in httpx's pool, where the wait would count
        # against the request's timeout (and as a worker's failure).
        self._turns = asyncio.Semaphore(CONNECTIONS)
        self._client = httpx.AsyncClient(limits=limits, timeout=10.0)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def post(self, post: Post, deadline: float) -> None:
        """Post to the next worker; on a failure, to the one after it, until it is taken."""
        path, raw, headers, _, _ = post
        self.counts.posts += 1
        while True:
            self._turn += 1
            port = self._ports[self._turn % len(self._ports)]
            try:
                async with self._turns:
                    answer = await self._client.post(
                        f"http://127.0.0.1:{port}{path}", content=raw, headers=headers
                    )
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass  # down, or killed while it had the request: the next one
            self.counts.failed_over += 1
            if time.monotonic() > deadline:
                raise TimeoutError("no worker took the post")
            await asyncio.sleep(0.1)

    async def book(self, channel: str, number: int, steps: Any) -> bool:
        """One customer's booking, step by step; True once they got the confirmation."""
        chat = customer_chat(channel, number)
        event = self._chats.events.setdefault(chat, asyncio.Event())
        seen = 0
        for step, (kind, value, needs) in enumerate(steps):
            low, high = self._think
            if high > 0:
                await asyncio.sleep(self._rng.uniform(low, high))
            post = self._build(channel, number, kind, value)
            started = time.monotonic()
            through = 0  # rounds the update was seen done and through without its answer
            event.clear()
            try:
                await self.post(post, started + self._deadline)
            except TimeoutError:
                self.counts.stuck.append(f"{channel} customer {number} step {step}: not taken")
                return False
            while True:
                got = await self._answer(chat, seen, needs, event)
                if got is not None:
                    seen = got
                    break
                state = await self._state(post[3], post[4])
                through = through + 1 if state == "done and through" else 0
                # Done, its claim over and still no answer for ~10 s: lost, not late.
                if through * self._redeliver >= 10 or time.monotonic() - started > self._deadline:
                    extra = len(self._chats.entries.get(chat, [])) - seen
                    what = "a wrong answer" if extra else "no answer"
                    if state == "done and through" and not extra:
                        self.counts.lost += 1
                    self.counts.stuck.append(
                        f"{channel} customer {number} step {step}: {what}; its update is {state}"
                    )
                    return False
                self.counts.redeliveries += 1
                try:
                    await self.post(post, started + self._deadline)
                except TimeoutError:
                    self.counts.stuck.append(f"{channel} customer {number} step {step}: not taken")
                    return False
        return True

    async def _answer(
        self, chat: str, seen: int, needs: str | None, event: asyncio.Event
    ) -> int | None:
        """Wait up to ``redeliver_after`` for the answer the next step needs; its end index."""
        waited_until = time.monotonic() + self._redeliver
        while True:
            entries = self._chats.entries.get(chat, [])
            raw = self._chats.raw.get(chat, [])
            if needs is None:
                if any(
                    kind in ("sendMessage", "text", "interactive") for kind, _ in entries[seen:]
                ):
                    return len(entries)
            elif re.search(needs, "\n".join(raw[seen:])):
                return len(entries)
            left = waited_until - time.monotonic()
            if left <= 0:
                return None
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                return None

    async def _state(self, channel: str, external_id: str) -> str:
        """Where the update stands in the inbox."""
        row = await self._pool.fetchrow(
            "SELECT state, claimed_until IS NULL OR claimed_until < now() AS through"
            " FROM inbox WHERE channel = $1 AND external_id = $2",
            channel,
            external_id,
        )
        if row is None:
            return "not stored"
        if row["state"] == "done":
            return "done and through" if row["through"] else "done, its answer going out"
        return str(row["state"])

    def _build(self, channel: str, number: int, kind: str, value: str) -> Post:
        if channel == "telegram":
            user = int(customer_chat(channel, number))
            update = self._telegram_update(user, kind, value)
            headers = {
                "X-Telegram-Bot-Api-Secret-Token": serve_child.WEBHOOK_SECRET,
                "Content-Type": "application/json",
            }
            raw = json.dumps(update).encode()
            return "/telegram", raw, headers, "telegram", str(update["update_id"])
        wa_id = customer_chat(channel, number)
        if kind == "text":
            body = self._hooks.text(wa_id, value, "Rahim")
        else:
            data = value
            if "[" in value:  # a pattern: the id the bot offered
                data = re.findall(value, "\n".join(self._chats.raw.get(wa_id, [])))[-1]
            body = self._hooks.button(wa_id, data)
        raw, signature = signed(body, serve_child.APP_SECRET)
        message_id = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        return "/whatsapp", raw, {"X-Hub-Signature-256": signature}, "whatsapp", message_id

    def _telegram_update(self, user: int, kind: str, value: str) -> dict[str, Any]:
        if kind == "text":
            return self._api.text_update(user, value, "Rahim", "en")
        pattern = re.compile(value)
        for message in reversed(self._api.messages(user)):
            keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", ())
            found = [
                button["callback_data"]
                for row in keyboard
                for button in row
                if pattern.fullmatch(button.get("callback_data", ""))
            ]
            if found:
                return self._api.callback_update(
                    user, found[-1], message["message_id"], "Rahim", "en"
                )
        # No such button: pressed anyway on the last message; the answer shows it.
        last = self._api.messages(user)
        message_id = last[-1]["message_id"] if last else 1
        return self._api.callback_update(user, value, message_id, "Rahim", "en")


def customer_chat(channel: str, number: int) -> str:
    """A customer's chat: their Telegram user id, or their WhatsApp id."""
    return str((FIRST_USER if channel == "telegram" else FIRST_WA_ID) + number)
