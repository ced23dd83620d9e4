"""Booking benchmark: our bot against python-telegram-bot's ConversationHandler.

U customers each make one complete booking (the same 11 updates for every system) through a
real ``telegram.ext.Application`` whose HTTP client is the in-process fake Bot API
(:mod:`channels.telegram.fake_api`), so nothing touches the network. Systems:

``ours``               the production runtime (``service.runtime.start``): the core, the
                       Telegram channel, SQLite file database, session committed at every step.
``ch-none``            a ConversationHandler bot with the same prompts, no persistence.
``ch-pickle-default``  the same with ``PicklePersistence`` as configured by default
                       (``on_flush=False``, ``update_interval=60``: written every 60 s).
``ch-pickle-every``    the same, plus ``await application.update_persistence()`` after every
                       update, i.e. durable at every step as ours is.

Modes: ``sequential`` (one update at a time, awaited through ``Application.process_update``)
and ``interleaved`` (``--active`` users at once, each update put on the Application's
``update_queue`` and run by its update processor; a user's next update is sent when the
previous one is answered, so each user's order is kept).

Every configuration runs in a fresh subprocess (peak RSS is per configuration). Results are
printed as a table with a PASS/FAIL line per target and written to ``bench/results/``.

    uv run python bench/booking.py --quick
    uv run python bench/booking.py --users 1000 --modes sequential,interleaved
    uv run python bench/booking.py --report bench/results/booking-*.json

See bench/README.md for what is measured and the caveats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from revision import revision  # bench/revision.py, beside this script

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the tests: no deprecation noise

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
SYSTEMS = ("ours", "ch-none", "ch-pickle-default", "ch-pickle-every")
PICKLE_SYSTEMS = ("ch-pickle-default", "ch-pickle-every")
MODES = ("sequential", "interleaved")
TOKEN = "7000000001:BENCH-offline-token-00000000000000"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
FIRST_USER = 10_000_000
FIRST_NAME = "Rahim"
LANGUAGE = "en"

#: The one booking every system is sent, in order: (kind, text typed or button pressed). A
#: button is found by its data in the keyboard of the bot's last message (the last button
#: that matches, as a regular expression): the time buttons carry a calendar date.
SEQUENCE: tuple[tuple[str, str], ...] = (
    ("text", "/start"),
    ("text", "/book"),
    ("button", "bk:consent:yes"),
    ("button", "bk:service:plumbing"),
    ("text", "Kitchen tap is leaking"),
    ("button", "bk:area:mirpur"),
    ("text", "House 12, Road 5, Block C, near the mosque"),
    ("text", "01712345678"),
    ("text", "Rahim Uddin"),
    ("button", r"bk:time:[0-9]{8}-evening"),  # the day after tomorrow, evening
    ("button", "bk:summary:confirm"),
)
#: Bot API calls one booking makes (15 sendMessage + 5 answerCallbackQuery), in every system.
CALLS_PER_BOOKING = 20
NOTICE_TIMEOUT_S = 60.0  # a booking's notices not out by then: the run fails verification


# ---------------------------------------------------------------------------------- helpers


class Histogram:
    """Latencies in logarithmic buckets (1 % wide): constant memory at any number of updates."""

    STEP = math.log(1.01)
    FLOOR = 1e-6  # seconds

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.n = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        index = int(math.log(max(seconds, self.FLOOR) / self.FLOOR) / self.STEP)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.n += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def quantile(self, q: float) -> float | None:
        if not self.n:
            return None
        rank = max(1, math.ceil(q * self.n))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                # Midpoint of the bucket, capped by the true maximum.
                return min(self.FLOOR * math.exp((index + 0.5) * self.STEP), self.max)
        return self.max

    def summary(self) -> dict[str, float | None]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "p50_ms": ms(self.quantile(0.50)),
            "p99_ms": ms(self.quantile(0.99)),
            "max_ms": ms(self.max if self.n else None),
            "mean_ms": ms(self.total / self.n if self.n else None),
        }


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _ErrorCounter(logging.Handler):
    """Counts ERROR records (ours logs failed updates; PTB logs unhandled errors)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = record.getMessage()[:300]


class NoticeTracker:
    """Counts each chat's outbox notices, queued and sent, so a customer can wait for its own.

    Ours sends a booking's confirmation (and "the team will call") from the outbox, after the
    answer: a booking is done when those have reached the customer's chat. Only the delivery
    worker sends them, as in production; ``runtime.settle()`` (the tests' "deliver everything
    now") would make every finishing customer run delivery rounds of its own.
    """

    def __init__(self, worker: Any) -> None:
        from storage import outbox

        self.queued: dict[Any, int] = {}
        self.sent: dict[Any, int] = {}
        self.waiting: dict[Any, asyncio.Future[None]] = {}
        self.latency = Histogram()  # the booking's last answer to its last notice sent
        self._outbox = outbox
        self._enqueue = outbox.enqueue
        send = worker._send

        async def counted_enqueue(*args: Any, **kwargs: Any) -> int:
            outbox_id = await self._enqueue(*args, **kwargs)
            chat = kwargs["to"]
            self.queued[chat] = self.queued.get(chat, 0) + 1
            return outbox_id

        async def counted_send(row: Any) -> bool:
            done = await send(row)
            if done:  # sent, or given up: either way nothing more is coming for this row
                chat = row.chat
                self.sent[chat] = self.sent.get(chat, 0) + 1
                waiter = self.waiting.get(chat)
                if waiter is not None and self._out(chat) and not waiter.done():
                    waiter.set_result(None)
            return done

        outbox.enqueue = counted_enqueue
        worker._send = counted_send

    def _out(self, chat: Any) -> bool:
        return self.sent.get(chat, 0) >= self.queued.get(chat, 0)

    async def delivered(self, chat: Any) -> bool:
        """Wait until every notice queued for ``chat`` is sent; False after the timeout."""
        started = time.perf_counter()
        if not self._out(chat):
            waiter = self.waiting[chat] = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(NOTICE_TIMEOUT_S):
                    await waiter
            except TimeoutError:
                return False
            finally:
                del self.waiting[chat]
        self.latency.add(time.perf_counter() - started)
        return True

    def forget(self, chat: Any) -> None:
        """Drop the counts of a finished chat (constant memory at any number of users)."""
        self.queued.pop(chat, None)
        self.sent.pop(chat, None)

    def close(self) -> None:
        """Put the module's own ``enqueue`` back."""
        self._outbox.enqueue = self._enqueue


# --------------------------------------------------------------------------- fake Telegram


def make_api() -> Any:
    from channels.telegram.fake_api import FakeBotApi

    class BenchApi(FakeBotApi):
        """The fake Bot API, counting calls and able to forget a finished chat.

        ``FakeBotApi`` keeps every message of every chat (and every user) forever, which at
        100,000 users would be the fake Telegram's memory, not the bot's: after each update the
        driver drops the chat's older messages (a button press only needs the message it was
        pressed on), and forgets the chat once its booking is done (unless
        ``--keep-api-state``).
        """

        def __init__(self) -> None:
            super().__init__(record_calls=False)
            self.calls_by_method: dict[str, int] = {}
            self.failed_calls = 0
            self._pruned: dict[int, int] = {}

        async def handle(self, method: str, params: Any) -> tuple[int, dict[str, Any]]:
            status, body = await super().handle(method, params)
            self.calls_by_method[method] = self.calls_by_method.get(method, 0) + 1
            if status != 200:
                self.failed_calls += 1
            return status, body

        def last_message_id(self, chat_id: int) -> int:
            # Message ids count up per chat; the bot's last prompt is the newest message.
            return self._message_ids[chat_id]

        def prune_chat(self, chat_id: int) -> None:
            """Drop every message of ``chat_id`` but the newest."""
            with self._lock:
                last = self._message_ids.get(chat_id, 0)
                for message_id in range(self._pruned.get(chat_id, 0) + 1, last):
                    self._messages.pop((chat_id, message_id), None)
                self._pruned[chat_id] = last - 1

        def forget_chat(self, chat_id: int) -> None:
            """Drop everything about ``chat_id`` (its booking is over)."""
            with self._lock:
                last = self._message_ids.pop(chat_id, 0)
                for message_id in range(self._pruned.pop(chat_id, 0) + 1, last + 1):
                    self._messages.pop((chat_id, message_id), None)
                self._users.pop(chat_id, None)

    return BenchApi()


_PATTERNS = {value: re.compile(value) for kind, value in SEQUENCE if kind == "button"}


def build_update(api: Any, user_id: int, kind: str, value: str) -> dict[str, Any]:
    """The update a customer sends: a typed text, or a press on a button of the last prompt."""
    if kind == "text":
        return api.text_update(user_id, value, FIRST_NAME, LANGUAGE)
    message_id = api.last_message_id(user_id)
    message = api.message(user_id, message_id) or {}
    pattern = _PATTERNS[value]
    found = [
        button["callback_data"]
        for row in message.get("reply_markup", {}).get("inline_keyboard", ())
        for button in row
        if pattern.fullmatch(button.get("callback_data", ""))
    ]
    # No such button: press it anyway; the bot's reprompt fails the run's verification.
    data = found[-1] if found else value
    return api.callback_update(user_id, data, message_id, FIRST_NAME, LANGUAGE)


# ------------------------------------------------------------- baseline: ConversationHandler

CONSENT, SERVICE, PROBLEM, AREA, ADDRESS, PHONE, NAME, TIME, SUMMARY = range(9)
DHAKA = ZoneInfo("Asia/Dhaka")
SERVICES = (
    ("house-shifting", "🚚 House shifting"),
    ("masonry", "🧱 Masonry"),
    ("plumbing", "🚰 Plumbing"),
    ("electrical", "💡 Electrician"),
    ("ac-servicing", "❄️ AC servicing"),
    ("repairs", "🛠 Other repairs"),
)
AREAS = (
    ("mirpur", "Mirpur"),
    ("uttara", "Uttara"),
    ("dhanmondi", "Dhanmondi"),
    ("gulshan", "Gulshan"),
    ("banani", "Banani"),
    ("mohammadpur", "Mohammadpur"),
    ("badda", "Badda"),
    ("rampura", "Rampura"),
)
DAYS = ("Today", "Tomorrow", "Day after tomorrow")
PARTS = (("morning", "Morning", 12), ("afternoon", "Afternoon", 17), ("evening", "Evening", 20))
PART_NAMES = {
    "morning": "Morning (9am–12pm)",
    "afternoon": "Afternoon (12–5pm)",
    "evening": "Evening (5–8pm)",
}
PHONE_RE = re.compile(r"^(?:\+?88)?(01[3-9]\d{8})$")


def per_user_processor(concurrency: int) -> Any:
    """python-telegram-bot's processor, one user's updates in order (as the bot used to have).

    A ConversationHandler is not safe with two updates of one user at once: the comparison
    bots get what every real deployment of them needs, per-user locks in the processor.
    """
    from telegram import Update
    from telegram.ext import BaseUpdateProcessor

    class PerUserUpdateProcessor(BaseUpdateProcessor):
        """Runs updates concurrently, but never two of the same user at once."""

        def __init__(self, max_concurrent_updates: int = 256) -> None:
            super().__init__(max_concurrent_updates)
            self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

        async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
            """Await ``coroutine`` once no earlier update of the same user is running."""
            user = update.effective_user if isinstance(update, Update) else None
            key = user.id if user is not None else None
            if key is None:
                await coroutine
                return
            lock, users = self._locks.get(key, (None, 0))
            if lock is None:
                lock = asyncio.Lock()
            self._locks[key] = (lock, users + 1)
            try:
                async with lock:
                    await coroutine
            finally:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

        async def initialize(self) -> None:
            """Nothing to set up."""

        async def shutdown(self) -> None:
            """Nothing to tear down."""

    return PerUserUpdateProcessor(concurrency)


def build_conversation_bot(
    system: str, api: Any, workdir: Path, concurrency: int, base_url: str | None = None
) -> Any:
    """A typical python-telegram-bot booking bot: ConversationHandler, answers in user_data.

    ``base_url``: reach a Bot API server over HTTP there, with python-telegram-bot's default
    client (bench/scale.py's webhook baseline), instead of ``api`` in process.
    """
    from telegram import (
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        KeyboardButton,
        LinkPreviewOptions,
        ReplyKeyboardMarkup,
        ReplyKeyboardRemove,
        Update,
    )
    from telegram.constants import ParseMode
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
        ConversationHandler,
        MessageHandler,
        PicklePersistence,
        TypeHandler,
        filters,
    )

    from channels.telegram.fake_api import OfflineRequest

    no_preview = LinkPreviewOptions(is_disabled=True)
    Context = ContextTypes.DEFAULT_TYPE

    def inline(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in rows
            ]
        )

    async def say(update: Update, text: str, markup: Any = None) -> None:
        await update.get_bot().send_message(
            update.effective_chat.id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=no_preview,
        )

    async def start(update: Update, context: Context) -> None:
        text = (
            f"<b>Hello, {update.effective_user.first_name}!</b>\nWelcome to Mistri Services. We"
            " send trusted technicians to your home in Dhaka: house shifting, masons, plumbers,"
            " electricians, AC servicing and repairs.\n\nTap “Book a service” to begin. /help"
            " shows everything I can do."
        )
        await say(
            update, text, inline([[("📋 Book a service", "go:book")], [("🌐 বাংলা", "lang:bn")]])
        )

    async def book(update: Update, context: Context) -> int:
        context.user_data["draft"] = {"first_name": update.effective_user.first_name}
        text = (
            "<b>Before we start</b>\nTo send a technician we need your name, mobile number,"
            " address (or a location pin) and a few words about the job.\nOnly the technician"
            " who takes your job sees your contact; we never sell data. Full policy: /privacy"
            "\n\nDo you agree?"
        )
        keyboard = inline(
            [
                [("✅ I agree", "bk:consent:yes")],
                [("📄 Read the policy", "bk:consent:policy"), ("✖ No, thanks", "bk:consent:no")],
            ]
        )
        await say(update, text, keyboard)
        return CONSENT

    async def consent(update: Update, context: Context) -> int:
        await update.callback_query.answer("Thank you!")
        context.user_data["consent"] = "2024-11"
        rows = [
            [(label, f"bk:service:{slug}") for slug, label in SERVICES[i : i + 2]]
            for i in range(0, len(SERVICES), 2)
        ]
        await say(update, "Step 1 of 7\n<b>Which service do you need?</b>", inline(rows))
        return SERVICE

    async def service(update: Update, context: Context) -> int:
        slug = update.callback_query.data.rsplit(":", 1)[1]
        label = dict(SERVICES)[slug].split(" ", 1)[1]
        await update.callback_query.answer(label)
        context.user_data["draft"]["service"] = slug
        text = (
            "Step 2 of 7\n<b>What is the problem?</b>\nDescribe it in your own words, e.g."
            " “kitchen tap is leaking”. Or tap Skip."
        )
        await say(
            update, text, inline([[("Skip ▶", "bk:problem:skip"), ("◀ Back", "bk:problem:back")]])
        )
        return PROBLEM

    async def problem(update: Update, context: Context) -> int:
        context.user_data["draft"]["problem"] = update.message.text.strip()[:500]
        rows = [
            [(label, f"bk:area:{slug}") for slug, label in AREAS[i : i + 2]]
            for i in range(0, len(AREAS), 2)
        ]
        rows.append([("1/4", "bk:area:page:0"), ("More ▶", "bk:area:page:1")])
        rows.append([("✏️ Other area", "bk:area:other"), ("◀ Back", "bk:area:back")])
        text = (
            "Step 3 of 7\n<b>Which area of Dhaka is the job in?</b>\nNot in the list? Tap"
            " “Other area” and type it."
        )
        await say(update, text, inline(rows))
        return AREA

    async def area(update: Update, context: Context) -> int:
        slug = update.callback_query.data.rsplit(":", 1)[1]
        await update.callback_query.answer(dict(AREAS)[slug])
        context.user_data["draft"]["area"] = slug
        text = (
            "Step 4 of 7\n<b>What is the full address?</b>\nHouse, road, block and a landmark."
            " Or share a location pin with the button below.\nA pin is your precise location:"
            " we use it only to guide the technician who takes the job."
        )
        keys = ReplyKeyboardMarkup(
            [
                [KeyboardButton("📍 Share location", request_location=True)],
                [KeyboardButton("◀ Back")],
            ],
            resize_keyboard=True,
        )
        await say(update, text, keys)
        return ADDRESS

    async def address(update: Update, context: Context) -> int:
        text = update.message.text.strip()
        if len(text) < 5:
            await say(update, "Please type the full address: house, road, area and a landmark.")
            return ADDRESS
        context.user_data["draft"]["address"] = text[:300]
        await say(update, "🏠 Address saved.")
        keys = ReplyKeyboardMarkup(
            [
                [KeyboardButton("📱 Share my number", request_contact=True)],
                [KeyboardButton("◀ Back")],
            ],
            resize_keyboard=True,
        )
        prompt = (
            "Step 5 of 7\n<b>Your mobile number?</b>\nTap the button to share it, or type it"
            " (e.g. 01712345678)."
        )
        await say(update, prompt, keys)
        return PHONE

    async def phone(update: Update, context: Context) -> int:
        match = PHONE_RE.match(update.message.text.replace(" ", "").replace("-", ""))
        if match is None:
            await say(update, "That does not look like a Bangladeshi mobile number.")
            return PHONE
        context.user_data["draft"]["phone"] = "+88" + match.group(1)
        await say(update, f"📞 Phone: {match.group(1)}")
        name = context.user_data["draft"]["first_name"]
        keys = ReplyKeyboardMarkup(
            [[KeyboardButton(name)], [KeyboardButton("◀ Back")]], resize_keyboard=True
        )
        prompt = (
            "Step 6 of 7\n<b>What name should the technician ask for?</b>\nTap your name below"
            " or type another."
        )
        await say(update, prompt, keys)
        return NAME

    async def name(update: Update, context: Context) -> int:
        text = update.message.text.strip()[:64]
        context.user_data["draft"]["name"] = text
        await say(update, f"👤 Name: {text}", ReplyKeyboardRemove())
        now = datetime.now(DHAKA)
        rows = []
        for day, day_name in enumerate(DAYS):
            row = [
                (f"{day_name} · {label}", f"bk:time:{now + timedelta(days=day):%Y%m%d}-{key}")
                for key, label, ends in PARTS
                if day > 0 or now.hour < ends - 1
            ]
            if row:
                rows.append(row)
        rows.append([("◀ Back", "bk:time:back")])
        prompt = (
            "Step 7 of 7\n<b>When should the technician come?</b>\nMorning 9am–12pm, afternoon"
            " 12–5pm, evening 5–8pm (Dhaka time)."
        )
        await say(update, prompt, inline(rows))
        return TIME

    async def when(update: Update, context: Context) -> int:
        await update.callback_query.answer()
        day, part = update.callback_query.data.rsplit(":", 1)[1].split("-")
        draft = context.user_data["draft"]
        visit = datetime.strptime(day, "%Y%m%d").date()
        draft["visit_date"], draft["visit_part"] = visit.isoformat(), part
        text = "\n".join(
            (
                "<b>Please check your booking</b>",
                "",
                f"Service: {dict(SERVICES)[draft['service']].split(' ', 1)[1]}",
                f"Problem: {draft['problem']}",
                f"Area: {dict(AREAS)[draft['area']]}",
                f"Address: {draft['address']}",
                f"Phone: {draft['phone'][3:]}",
                f"Name: {draft['name']}",
                f"Time: {visit.strftime('%a, %d %B')}, {PART_NAMES[part]}",
            )
        )
        keyboard = inline(
            [
                [("✅ Confirm", "bk:summary:confirm")],
                [("✏️ Edit", "bk:summary:edit"), ("✖ Cancel", "bk:summary:cancel")],
            ]
        )
        await say(update, text, keyboard)
        return SUMMARY

    async def confirm(update: Update, context: Context) -> int:
        await update.callback_query.answer("Booking confirmed")
        draft = context.user_data.pop("draft")
        reference = "MS-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=4))
        draft["reference"] = reference
        draft["created_at"] = datetime.now(UTC).isoformat()
        context.user_data.setdefault("orders", []).append(draft)
        visit = datetime.fromisoformat(draft["visit_date"]).strftime("%a, %d %B")
        service_name = dict(SERVICES)[draft["service"]].split(" ", 1)[1]
        text = (
            f"✅ <b>Booking confirmed.</b> Your reference: <b>{reference}</b>\n{service_name} ·"
            f" {dict(AREAS)[draft['area']]} · {visit}, {PART_NAMES[draft['visit_part']]}\n\nWe"
            " are finding a technician now; you will get their name and phone here as soon as"
            " one accepts. /myorders shows the status."
        )
        await say(update, text, ReplyKeyboardRemove())
        await say(
            update,
            f"No technician is free for {reference} right now. Our team will call you soon to"
            " arrange one.",
        )
        return ConversationHandler.END

    async def cancel(update: Update, context: Context) -> int:
        context.user_data.pop("draft", None)
        await say(update, "Booking cancelled.", ReplyKeyboardRemove())
        return ConversationHandler.END

    text_only = filters.TEXT & ~filters.COMMAND
    persistence = None
    if system in PICKLE_SYSTEMS:
        # Defaults as documented: single file, on_flush=False, update_interval=60.
        persistence = PicklePersistence(filepath=workdir / "bench.pickle")
    builder = ApplicationBuilder().token(TOKEN)
    if base_url is not None:
        builder = builder.base_url(base_url)
    else:
        builder = builder.request(OfflineRequest(api)).get_updates_request(OfflineRequest(api))
    # The same update processor as ours, so only the handling differs.
    builder = builder.concurrent_updates(per_user_processor(concurrency))
    if persistence is not None:
        builder = builder.persistence(persistence)
    application = builder.build()
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("book", book)],
            states={
                CONSENT: [CallbackQueryHandler(consent, pattern=r"^bk:consent:yes$")],
                SERVICE: [CallbackQueryHandler(service, pattern=r"^bk:service:")],
                PROBLEM: [MessageHandler(text_only, problem)],
                AREA: [CallbackQueryHandler(area, pattern=r"^bk:area:[a-z-]+$")],
                ADDRESS: [MessageHandler(text_only, address)],
                PHONE: [MessageHandler(text_only, phone)],
                NAME: [MessageHandler(text_only, name)],
                TIME: [CallbackQueryHandler(when, pattern=r"^bk:time:\d{8}-[a-z]+$")],
                SUMMARY: [CallbackQueryHandler(confirm, pattern=r"^bk:summary:confirm$")],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            name="booking",
            persistent=persistence is not None,
        )
    )
    application.add_handler(CommandHandler("start", start))
    if system == "ch-pickle-every":

        async def flush(update: Update, context: Context) -> None:
            # Durable at every step: write what this update changed before the next one.
            await context.application.update_persistence()

        application.add_handler(TypeHandler(Update, flush), group=1)
    return application


# ------------------------------------------------------------------------------ the driver


class Run:
    """One configuration in this process."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.system: str = config["system"]
        self.mode: str = config["mode"]
        self.users: int = config["users"]
        self.active: int = min(config["active"], self.users) if self.mode == "interleaved" else 1
        self.concurrency: int = config["concurrency"]
        self.budget: float = config["budget"]
        self.keep_api_state: bool = config["keep_api_state"]
        self.think: float = config.get("think_ms", 0) / 1000 if self.mode == "interleaved" else 0
        self.workdir = Path(config["workdir"])
        self.latency = Histogram()  # hand-off (process_update / processor) to handler done
        self.service = Histogram()  # the processor starts running it to handler done
        self.sojourn = Histogram()  # put on the update queue to handler done (interleaved)
        self.by_step = [Histogram() for _ in SEQUENCE]  # latency per step of the booking
        self.next_user = 0
        self.completed_users = 0
        self.updates_done = 0
        self.stopped = False
        self.progress: list[tuple[int, float]] = []
        self.late_notices = 0  # bookings whose notices were not out within NOTICE_TIMEOUT_S
        self.t0 = 0.0

    async def main(self) -> dict[str, Any]:
        from telegram import Update

        errors = _ErrorCounter()
        logging.getLogger().addHandler(errors)
        api = make_api()
        system: Ours | ConversationBot
        if self.system == "ours":
            system = await Ours.start(self, api)
        else:
            system = await ConversationBot.start(self, api, errors)
        notices = NoticeTracker(system.runtime.worker) if isinstance(system, Ours) else None
        bot = system.bot
        loop = asyncio.get_running_loop()
        sequential = self.mode == "sequential"
        rng = random.Random(7)

        async def customer() -> None:
            while not self.stopped and self.next_user < self.users:
                user_id = FIRST_USER + self.next_user
                self.next_user += 1
                for step, (kind, value) in enumerate(SEQUENCE):
                    if self.think:
                        # A person reads the prompt before answering (exponential, mean
                        # think); before the first update it spreads the users' arrivals.
                        await asyncio.sleep(rng.expovariate(1 / self.think))
                    if time.perf_counter() - self.t0 > self.budget:
                        self.stopped = True
                        return
                    update = Update.de_json(build_update(api, user_id, kind, value), bot)
                    if sequential:
                        handed = time.perf_counter()
                        await system.process(update)
                        elapsed = time.perf_counter() - handed
                        self.latency.add(elapsed)
                        self.service.add(elapsed)
                        self.by_step[step].add(elapsed)
                    else:
                        future = loop.create_future()
                        system.submit(update, user_id, (future, step, time.perf_counter()))
                        await future
                    self.updates_done += 1
                    if not self.keep_api_state:
                        api.prune_chat(user_id)
                if notices is not None:
                    # A booking is done when its notices are out too (ours sends them from
                    # the outbox, after the answer); only then is the chat forgotten.
                    chat = customer_chat(user_id)
                    if not await notices.delivered(chat):
                        self.late_notices += 1
                    notices.forget(chat)
                self.completed_users += 1
                if not self.keep_api_state:
                    api.forget_chat(user_id)
                if self.completed_users % max(1, self.users // 200) == 0:
                    self.progress.append((self.completed_users, time.perf_counter() - self.t0))

        api.calls_by_method.clear()  # getMe at start-up is not part of the bookings
        rss_start = rss_mb()
        gc.collect()
        self.t0 = time.perf_counter()
        await asyncio.gather(*(customer() for _ in range(self.active)))
        seconds = time.perf_counter() - self.t0
        rss_end = rss_mb()

        extra: dict[str, Any] = {}
        if isinstance(system, Ours):
            extra["commits"] = system.runtime.sessions.commits
            extra["rows_written"] = system.runtime.sessions.rows_written
        if notices is not None:
            notices.close()
            extra["notice_wait"] = notices.latency.summary()
            extra["late_notices"] = self.late_notices
        stop_started = time.perf_counter()
        extra.update(await system.stop())
        extra["shutdown_s"] = round(time.perf_counter() - stop_started, 3)

        calls = sum(api.calls_by_method.values())
        result: dict[str, Any] = {
            "system": self.system,
            "mode": self.mode,
            "users": self.users,
            "active": self.active,
            "concurrency": self.concurrency,
            "users_completed": self.completed_users,
            "updates": self.updates_done,
            "seconds": round(seconds, 3),
            "updates_per_s": round(self.updates_done / seconds, 1) if seconds else None,
            "capped": self.stopped,
            "latency": self.latency.summary(),
            "service": self.service.summary(),
            "sojourn": self.sojourn.summary() if not sequential else self.latency.summary(),
            "think_ms": self.think * 1000,
            "steps": {
                value: histogram.summary()
                for (_, value), histogram in zip(SEQUENCE, self.by_step, strict=True)
            },
            "rss_start_mb": round(rss_start, 1),
            "rss_end_mb": round(rss_end, 1),
            "rss_peak_mb": round(peak_rss_mb(), 1),
            "api_calls": calls,
            "api_calls_by_method": api.calls_by_method,
            "api_calls_per_booking": round(calls / self.completed_users, 2)
            if self.completed_users
            else None,
            "api_failed_calls": api.failed_calls,
            "errors": errors.count,
            "first_error": errors.first,
            "progress": self.progress,
            **extra,
        }
        if self.stopped:
            result["extrapolated_updates_per_s"] = _extrapolate(
                self.progress, self.users, len(SEQUENCE)
            )
        result["ok"] = _verify(result)
        return result


def customer_chat(user_id: int) -> Any:
    """The chat of a simulated customer, as the outbox names it."""
    from channels.telegram.inbound import address

    return address(user_id)


class Ours:
    """The production runtime, fed updates as polling would feed it."""

    def __init__(self, run: Run, runtime: Any) -> None:
        self.run = run
        self.runtime = runtime
        self.bot = runtime.bot
        self.pending: dict[int, tuple[asyncio.Future[None], int, float]] = {}
        scheduler = runtime.scheduler
        serve, handle = scheduler._serve, scheduler._handle
        running: dict[int, float] = {}

        async def handed_over(event: Any) -> None:
            # The event's turn has come and it asks for a slot, as PTB's processor is handed
            # an update by its fetcher: latency is counted from here, as for the others;
            # "queued+running" from the submission.
            handed = time.perf_counter()
            user_id = int(event.sender.person.id)
            try:
                await serve(event)
            finally:
                done = time.perf_counter()
                run.latency.add(done - handed)
                run.service.add(done - running.pop(user_id, handed))
                entry = self.pending.pop(user_id, None)
                if entry is not None:
                    future, step, submitted = entry
                    run.by_step[step].add(done - handed)
                    run.sojourn.add(done - submitted)
                    if not future.done():
                        future.set_result(None)

        async def in_a_slot(event: Any) -> None:
            running[int(event.sender.person.id)] = time.perf_counter()
            await handle(event)

        scheduler._serve = handed_over
        scheduler._handle = in_a_slot

    @classmethod
    async def start(cls, run: Run, api: Any) -> Ours:
        from pydantic import SecretStr

        from channels.telegram.fake_api import OfflineRequest
        from service.config import Settings
        from service.runtime import start

        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{run.workdir / 'bench.db'}",
            data_key=SecretStr(SECRET),
            telegram_token=None,
        )
        runtime = await start(
            settings,
            token=TOKEN,
            request=OfflineRequest(api),
            rate_limit=False,
            concurrency=run.concurrency,
        )
        return cls(run, runtime)

    async def process(self, update: Any) -> None:
        await self.runtime.process(update)

    def submit(self, update: Any, user_id: int, entry: Any) -> None:
        # Handed to the scheduler, as polling hands updates over: the wait for a slot counts.
        self.pending[user_id] = entry
        self.runtime.submit(update)

    async def stop(self) -> dict[str, Any]:
        await self.runtime.close()
        workdir = self.run.workdir
        return {
            "orders_stored": _count(workdir / "bench.db", "orders"),
            "sessions_stored": _count(workdir / "bench.db", "conversation_sessions"),
            "db_mb": round(_size_mb(workdir, "bench.db"), 1),
        }


class ConversationBot:
    """python-telegram-bot's ConversationHandler bot, fed through its own Application."""

    def __init__(self, run: Run, app: Any) -> None:
        self.run = run
        self.app = app
        self.bot = app.bot
        self.pending: dict[int, tuple[asyncio.Future[None], int, float]] = {}
        processor = app.update_processor
        original = processor.process_update

        async def timed(update: object, coroutine: Awaitable[Any]) -> None:
            handed = time.perf_counter()

            async def served() -> None:
                started = time.perf_counter()
                try:
                    await coroutine
                finally:
                    done = time.perf_counter()
                    run.latency.add(done - handed)
                    run.service.add(done - started)
                    entry = self.pending.pop(update.update_id, None)  # type: ignore[attr-defined]
                    if entry is not None:
                        run.by_step[entry[1]].add(done - handed)
                        run.sojourn.add(done - entry[2])
                        if not entry[0].done():
                            entry[0].set_result(None)

            await original(update, served())

        processor.process_update = timed  # type: ignore[method-assign]

    @classmethod
    async def start(cls, run: Run, api: Any, errors: _ErrorCounter) -> ConversationBot:
        app = build_conversation_bot(run.system, api, run.workdir, run.concurrency)

        async def on_error(update: object, context: Any) -> None:
            errors.count += 1
            errors.first = errors.first or repr(context.error)[:300]

        app.add_error_handler(on_error)
        await app.initialize()
        await app.start()  # the update fetcher (interleaved) and persistence loop (pickle)
        return cls(run, app)

    async def process(self, update: Any) -> None:
        await self.app.process_update(update)

    def submit(self, update: Any, user_id: int, entry: Any) -> None:
        self.pending[update.update_id] = entry
        self.app.update_queue.put_nowait(update)

    async def stop(self) -> dict[str, Any]:
        await self.app.stop()
        await self.app.shutdown()
        extra: dict[str, Any] = {
            "orders_stored": sum(
                len(data.get("orders", ())) for data in self.app.user_data.values()
            )
        }
        if self.run.system in PICKLE_SYSTEMS:
            extra["pickle_mb"] = round(_size_mb(self.run.workdir, "bench.pickle"), 1)
        return extra


def _count(database: Path, table: str) -> int | None:
    try:
        with contextlib.closing(sqlite3.connect(database)) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return None


def _size_mb(folder: Path, prefix: str) -> float:
    return sum(p.stat().st_size for p in folder.glob(prefix + "*")) / 2**20


def _extrapolate(progress: list[tuple[int, float]], users: int, per_user: int) -> float | None:
    """Fit T(n) = a·n + b·n² (cost per booking growing linearly) and extrapolate to ``users``."""
    points = [(n, t) for n, t in progress if n > 0]
    if len(points) < 3:
        return None
    s11 = sum(n * n for n, _ in points)
    s12 = sum(n**3 for n, _ in points)
    s22 = sum(n**4 for n, _ in points)
    r1 = sum(n * t for n, t in points)
    r2 = sum(n * n * t for n, t in points)
    det = s11 * s22 - s12 * s12
    if det == 0:
        return None
    a = (r1 * s22 - r2 * s12) / det
    b = (s11 * r2 - s12 * r1) / det
    if b < 0:  # no growth seen: linear extrapolation
        a, b = points[-1][1] / points[-1][0], 0.0
    total = a * users + b * users * users
    return round(users * per_user / total, 1) if total > 0 else None


def _verify(result: dict[str, Any]) -> bool:
    done = result["users_completed"]
    if result["errors"] or result["api_failed_calls"]:
        return False
    if result["orders_stored"] is not None and result["orders_stored"] < done:
        return False
    # Every completed booking made exactly the same Bot API calls (a capped run may leave
    # bookings half done, which add calls without a completed booking).
    if not result["capped"] and result["api_calls"] != done * CALLS_PER_BOOKING:
        return False
    # Ours: every booking's notices reached its chat, and every update's session row was
    # committed (durable at every step).
    if result.get("late_notices"):
        return False
    return "rows_written" not in result or result["rows_written"] >= result["updates"]


def child(config: dict[str, Any]) -> None:
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("app", "service", "channels"):  # "a chat cannot be reached" and so on
        logging.getLogger(noisy).setLevel(logging.ERROR)
    result = asyncio.run(Run(config).main())
    Path(config["out"]).write_text(json.dumps(result))


# ------------------------------------------------------------------------------ the parent


def run_config(config: dict[str, Any], keep_workdir: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="mistri-bench-", dir=config.get("workroot")))
    out = workdir / "result.json"
    config = {**config, "workdir": str(workdir), "out": str(out)}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(config)]
    label = f"{config['system']:<18} {config['mode']:<11} U={config['users']:<7}"
    print(f"  running {label} ...", end="", flush=True, file=sys.stderr)
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            command, timeout=config["budget"] + 600, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0 or not out.exists():
            result = {
                **{k: config[k] for k in ("system", "mode", "users")},
                "failed": True,
                "stderr": completed.stderr[-2000:],
            }
        else:
            result = json.loads(out.read_text())
    except subprocess.TimeoutExpired:
        result = {
            **{k: config[k] for k in ("system", "mode", "users")},
            "failed": True,
            "stderr": "timed out",
        }
    finally:
        if not keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    took = time.perf_counter() - started
    if result.get("failed"):
        print(f" FAILED ({took:.0f} s)\n{result['stderr']}", file=sys.stderr)
    else:
        print(
            f" {result['updates_per_s']:>8} upd/s, p99 {result['latency']['p99_ms']} ms,"
            f" peak {result['rss_peak_mb']} MB ({took:.0f} s)",
            file=sys.stderr,
        )
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput, with every run's throughput attached."""
    good = sorted((r for r in runs if not r.get("failed")), key=lambda r: r["updates_per_s"])
    if not good:
        return runs[0]
    result = dict(good[(len(good) - 1) // 2])
    if len(runs) > 1:
        result["repeats"] = [r["updates_per_s"] for r in good]
        result["repeats_failed"] = len(runs) - len(good)
    return result


def machine() -> dict[str, Any]:
    import telegram

    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "python_telegram_bot": telegram.__version__,
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
    }


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


# ------------------------------------------------------------------------ table and targets


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: list[dict[str, Any]]) -> str:
    header = (
        "| mode | users | system | updates/s | p50 ms | p99 ms | p99 running ms"
        " | p99 queued+running ms | peak RSS MB | calls/booking | commits | note |"
    )
    lines = [header, "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"]
    order = {name: i for i, name in enumerate(SYSTEMS)}
    for r in sorted(
        results, key=lambda r: (MODES.index(r["mode"]), r["users"], order.get(r["system"], 9))
    ):
        if r.get("failed"):
            lines.append(f"| {r['mode']} | {r['users']:,} | {r['system']} | FAILED ||||||||")
            continue
        notes = []
        if r["capped"]:
            notes.append(
                f"capped by time budget after {r['users_completed']:,} of {r['users']:,} users;"
                f" extrapolated {fmt(r.get('extrapolated_updates_per_s'))} upd/s"
            )
        if not r["ok"]:
            notes.append("VERIFY FAILED")
        if r.get("repeats"):
            low, high = min(r["repeats"]), max(r["repeats"])
            notes.append(f"median of {len(r['repeats'])} ({fmt(low)}–{fmt(high)})")
        if r.get("think_ms"):
            notes.append(f"think {r['think_ms']:.0f} ms")
        if r.get("rows_written"):
            notes.append(f"{r['rows_written'] / max(1, r['commits']):.1f} rows/commit")
        if r.get("notice_wait", {}).get("p99_ms") is not None:
            wait = r["notice_wait"]
            notes.append(
                f"notices out {fmt(wait['p50_ms'], 1)} / {fmt(wait['p99_ms'], 1)} ms"
                " (p50 / p99) after the last answer"
            )
        if r["system"] == "ch-pickle-default":
            notes.append(f"final flush {r['shutdown_s']} s")
        lines.append(
            f"| {r['mode']} | {r['users']:,} | {r['system']} | {fmt(r['updates_per_s'])}"
            f" | {fmt(r['latency']['p50_ms'], 2)} | {fmt(r['latency']['p99_ms'], 2)}"
            f" | {fmt(r['service']['p99_ms'], 2) if r['mode'] == 'interleaved' else '—'}"
            f" | {fmt(r['sojourn']['p99_ms'], 2) if r['mode'] == 'interleaved' else '—'}"
            f" | {fmt(r['rss_peak_mb'])} | {fmt(r['api_calls_per_booking'])}"
            f" | {fmt(r.get('commits'))} | {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def targets(results: list[dict[str, Any]], base: int, big: int) -> list[tuple[str, str, str]]:
    """Return (verdict, target, detail) per target, from results of one run."""
    got = {(r["system"], r["mode"], r["users"]): r for r in results if not r.get("failed")}

    def ups(system: str, mode: str, users: int) -> tuple[float | None, dict[str, Any] | None]:
        r = got.get((system, mode, users))
        if r is None:
            return None, None
        return r["updates_per_s"], r

    verdicts: list[tuple[str, str, str]] = []

    def ratio(name: str, mode: str, other: str, users: int, minimum: float) -> None:
        ours, r1 = ups("ours", mode, users)
        theirs, r2 = ups(other, mode, users)
        if ours is None or theirs is None:
            verdicts.append(("SKIP", name, "not in this run"))
            return
        if r1 and r1.get("think_ms"):
            verdicts.append(("SKIP", name, "think time set: throughput is the offered load"))
            return
        value = ours / theirs
        note = ""
        if r2 and r2["capped"]:
            note = f" ({other} capped: measured on {r2['users_completed']:,} users)"
        ok = value >= minimum and r1["ok"]
        verdicts.append(
            (
                "PASS" if ok else "FAIL",
                name,
                f"{fmt(ours)} / {fmt(theirs)} upd/s = {value:.2f}× (need ≥ {minimum}×){note}",
            )
        )

    ratio(f"interleaved, {base:,} users: ours ≥ 1.0× ch-none", "interleaved", "ch-none", base, 1.0)
    ratio(f"sequential, {base:,} users: ours ≥ 0.6× ch-none", "sequential", "ch-none", base, 0.6)
    for mode in MODES:
        ratio(
            f"{mode}, {base:,} users: ours ≥ 10× ch-pickle-every",
            mode,
            "ch-pickle-every",
            base,
            10.0,
        )
    for mode in MODES:
        small, _ = ups("ours", mode, base)
        large, r = ups("ours", mode, big)
        name = f"{mode}: throughput loss {base:,} → {big:,} users < 15%"
        if small is None or large is None or base == big:
            verdicts.append(("SKIP", name, "not in this run"))
            continue
        loss = 1 - large / small
        verdicts.append(
            (
                "PASS" if loss < 0.15 and not r["capped"] else "FAIL",
                name,
                f"{fmt(small)} → {fmt(large)} upd/s: {loss * 100:+.1f}% loss",
            )
        )
    _, r = ups("ours", "interleaved", base)
    name = f"interleaved, {base:,} users: ours p99 < 10 ms"
    if r is None:
        verdicts.append(("SKIP", name, "not in this run"))
    else:
        p99 = r["latency"]["p99_ms"]
        verdicts.append(
            (
                "PASS" if p99 < 10 else "FAIL",
                name,
                f"p99 {p99} ms from hand-off to the processor (p50 {r['latency']['p50_ms']} ms;"
                f" once running: p99 {r['service']['p99_ms']} ms; from the update queue: p99"
                f" {r['sojourn']['p99_ms']} ms)",
            )
        )
    for mode in MODES:
        _, r = ups("ours", mode, big)
        name = f"{mode}, {big:,} users: ours peak RSS < 150 MB"
        if r is None:
            verdicts.append(("SKIP", name, "not in this run"))
        else:
            verdicts.append(
                (
                    "PASS" if r["rss_peak_mb"] < 150 else "FAIL",
                    name,
                    f"{r['rss_peak_mb']} MB (at start {r['rss_start_mb']} MB)",
                )
            )
    return verdicts


def report(run: dict[str, Any]) -> None:
    print()
    m = run["machine"]
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']},"
        f" python-telegram-bot {m['python_telegram_bot']}, SQLite {m['sqlite']}"
    )
    print(f"command: {run['command']}")
    print(f"revision: {run.get('revision')}, started {run['started']}")
    print()
    print(table(run["results"]))
    print()
    for verdict, name, detail in targets(run["results"], run["base_users"], run["big_users"]):
        print(f"{verdict}  {name}: {detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users",
        default="1000,10000,100000",
        help="comma-separated numbers of customers (one booking each)",
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--active",
        type=int,
        default=1000,
        help="users active at once in interleaved mode (default 1000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=256,
        help="updates the processor runs at once (build_application's default)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=1800.0,
        help="seconds per configuration before it is capped",
    )
    parser.add_argument(
        "--pickle-budget",
        type=float,
        default=180.0,
        help="seconds per PicklePersistence configuration before it is capped",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each configuration this many times and report the median",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="interleaved: a user's mean pause between an answer and their next update"
        " (default 0: users answer at once, so the bot is saturated and shows its capacity)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 100 users, all systems and modes (< 1 min)",
    )
    parser.add_argument(
        "--keep-api-state",
        action="store_true",
        help="do not let the fake Bot API forget finished chats",
    )
    parser.add_argument("--keep-workdir", action="store_true")
    parser.add_argument("--workroot", default=None, help="where databases are created")
    parser.add_argument(
        "--report",
        nargs="+",
        metavar="JSON",
        help="print the table and verdicts of earlier result files",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(json.loads(args.child))
        return 0
    if args.report:
        for path in args.report:
            report(json.loads(Path(path).read_text()))
        return 0

    users = [int(u) for u in args.users.split(",") if u]
    budget, pickle_budget = args.budget, args.pickle_budget
    if args.quick:
        users, budget, pickle_budget = [100], 30.0, 10.0
    modes = [m for m in args.modes.split(",") if m]
    systems = [s for s in args.systems.split(",") if s]
    for name in systems:
        if name not in SYSTEMS:
            parser.error(f"unknown system {name!r}")
    for name in modes:
        if name not in MODES:
            parser.error(f"unknown mode {name!r}")

    run: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "uv run python bench/booking.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "revision": revision(),
        "base_users": min(users) if args.quick else (1000 if 1000 in users else min(users)),
        "big_users": max(users) if args.quick else (100_000 if 100_000 in users else max(users)),
        "results": [],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"booking-{datetime.now():%Y%m%d-%H%M%S}.json"
    print(f"writing {path}", file=sys.stderr)
    for count in sorted(users):
        for mode in modes:
            configs = {
                system: {
                    "system": system,
                    "mode": mode,
                    "users": count,
                    "active": args.active,
                    "concurrency": args.concurrency,
                    "budget": pickle_budget if system in PICKLE_SYSTEMS else budget,
                    "keep_api_state": args.keep_api_state,
                    "workroot": args.workroot,
                    "think_ms": args.think_ms,
                }
                for system in systems
            }
            # The systems take turns, round after round: this machine's speed drifts by
            # 10-20% over minutes, and a ratio of runs taken side by side is what compares.
            runs: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
            for _ in range(max(1, args.repeat)):
                for system, config in configs.items():
                    runs[system].append(run_config(config, args.keep_workdir))
            for system in systems:
                run["results"].append(median_of(runs[system]))
            path.write_text(json.dumps(run, indent=1))
    report(run)
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
