"""``mistri-bot run`` stops: within 10 s of SIGTERM whatever hangs, and in one line for a reason.

The bot runs as a separate process against a loopback Bot API (``tests.fakes.http_bot_api``)
that can refuse whole methods or stop answering (``tests.channels.telegram.faulty_api``).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.channels.telegram.faulty_api import CONFLICT, FaultyBotApi
from tests.fakes.http_bot_api import serve_bot_api
from tests.service.test_restart import (
    CUSTOMER,
    START_TIMEOUT,
    TECHNICIAN,
    TOKEN,
    BotProcess,
    Customer,
    Launcher,
    book,
    keys_ask_for,
    offers,
    register_technician,
    wait_for,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

#: What the interface promises: stopped within 10 s of SIGTERM.
STOP_WITHIN = 10.0
#: New people whose first messages are in flight at the stop, and how many each sends.
CROWD, EACH = 150, 2
#: Customers half way through a booking at the stop.
MIDWAY = 10


@dataclass
class Faulty:
    api: FaultyBotApi
    base_url: str


@pytest.fixture
def faulty() -> Iterator[Faulty]:
    api = FaultyBotApi()
    with serve_bot_api(api) as base_url:
        yield Faulty(api, base_url)


@pytest.fixture
def launcher(tmp_path: Path, faulty: Faulty) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path, faulty.base_url)
    try:
        yield launcher
    finally:
        launcher.kill_all()


def stop(bot: BotProcess) -> tuple[int, float]:
    """SIGTERM the bot; return its exit status and the seconds it took to exit."""
    began = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    try:
        code = bot.process.wait(STOP_WITHIN + 20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_WITHIN + 20:.0f} s after SIGTERM\n{bot.output()}")
    return code, time.monotonic() - began


def answer_help(faulty: Faulty, bot: BotProcess, user: int = CUSTOMER) -> None:
    """Have ``user`` ask for /help and wait for the answer: the bot is up and polling."""
    api = faulty.api
    api.enqueue(api.text_update(user, "/help", "Rahim", "en"))
    wait_for("the answer to /help", lambda: api.sent_to(user), bot, START_TIMEOUT)


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(query).fetchall()


def steps_of(database: Path, users: list[int]) -> dict[int, str]:
    found = rows(database, "SELECT person_id, flow, step FROM conversation_sessions")
    by_user = {int(str(person)): f"{flow}/{step}" for person, flow, step in found}
    return {user: by_user.get(user, "") for user in users}


def press_area(api: FaultyBotApi, user: int, bot: BotProcess) -> None:
    """Answer the area question (asked by the process stopped); wait for the next one."""
    message_id = max(call.message_id or 0 for call in api.sent_to(user))
    mark = len(api.calls)
    api.enqueue(api.callback_update(user, "bk:area:mirpur", message_id, "Rahim", "en"))

    def asked_for_the_location() -> bool:
        return any(
            keys_ask_for("request_location")(call)
            for call in api.calls[mark:]
            if call.params.get("chat_id") == user
        )

    wait_for("the location question", asked_for_the_location, bot, START_TIMEOUT)


def test_sigterm_with_updates_in_flight_and_the_bot_api_silent_stops_within_10_s(
    faulty: Faulty, launcher: Launcher
) -> None:
    """Handlers stuck on sends, a 429 of 60 s, polling silent: exit 0 in time, state kept."""
    api = faulty.api
    register_technician(launcher)
    bot = launcher.start()
    midway = [Customer(api, user=7_100_000 + i) for i in range(MIDWAY)]
    for customer in midway:  # each at the problem question of a booking
        customer.say("/book", bot, offers("bk:consent:yes"), START_TIMEOUT)
        customer.press("bk:consent:yes", bot, offers("bk:service:plumbing"))
        customer.press("bk:service:plumbing", bot, offers("bk:problem:skip"))
    # An order is committed, and its offer to the technician is answered "retry after 60 s".
    api.fail_next(TECHNICIAN, 429, "Too Many Requests: retry after {retry_after}", 60, 1_000)
    reference = book(Customer(api), bot)
    wait_for(
        "the technician's 429",
        lambda: any(c.status == 429 and c.params.get("chat_id") == TECHNICIAN for c in api.calls),
        bot,
    )

    # From now on no send is answered; then a crowd writes, and the midway customers answer.
    api.stall_sends = True
    for i in range(CROWD):
        for text in ("/start", "/help")[:EACH]:
            api.enqueue(api.text_update(7_200_000 + i, text, "Karim", "en"))
    for i, customer in enumerate(midway):
        api.enqueue(api.text_update(customer.user, f"Tap number {i} is leaking", "Rahim", "en"))
    wait_for("every update to be fetched", lambda: api.pending_updates == 0, bot)
    users = [customer.user for customer in midway]
    wait_for(
        "the midway customers' answers to be committed",
        lambda: set(steps_of(launcher.database, users).values()) == {"booking/area"},
        bot,
    )
    api.stall_everything = True  # the Bot API answers nothing at all now, getUpdates neither

    code, seconds = stop(bot)
    print(f"stopped {seconds:.2f} s after SIGTERM")  # the figure of the report (pytest -s)
    err = bot.stderr.read_text(errors="replace")
    assert code == 0, bot.output()
    assert seconds < STOP_WITHIN, bot.output()
    assert "Traceback" not in err and "took too long" not in err, err

    # Nothing committed is lost: the order, its offer waiting in the outbox, every session.
    database = launcher.database
    assert rows(database, "SELECT reference FROM orders") == [(reference,)]
    offer = rows(
        database,
        f"SELECT status FROM outbox WHERE kind = 'offer' AND chat_id = '{TECHNICIAN}'",
    )
    assert offer == [("pending",)]
    assert set(steps_of(database, users).values()) == {"booking/area"}

    # A new process carries on where each of them was.
    api.stall_everything = api.stall_sends = False
    api._faults.clear()
    second = launcher.start()
    for customer in midway[:3]:
        press_area(api, customer.user, second)
    code, seconds = stop(second)
    assert code == 0 and seconds < STOP_WITHIN, second.output()


def test_sigterm_during_a_wait_telegram_asked_for_stops_at_once(
    faulty: Faulty, launcher: Launcher
) -> None:
    """getUpdates answered "retry after 60": the stop does not sit out the minute."""
    api = faulty.api
    bot = launcher.start()
    answer_help(faulty, bot)
    api.refuse("getUpdates", 429, "Too Many Requests: retry after 60", retry_after=60)
    api.enqueue(api.text_update(CUSTOMER, "/privacy", "Rahim", "en"))  # ends the poll under way
    wait_for(
        "the 429 on getUpdates",
        lambda: any(c.method == "getUpdates" and c.status == 429 for c in api.calls),
        bot,
    )
    time.sleep(0.5)  # well into the wait
    code, seconds = stop(bot)
    assert code == 0, bot.output()
    assert seconds < STOP_WITHIN, bot.output()
    assert "Traceback" not in bot.stderr.read_text(errors="replace")


def test_sigterm_during_start_up_stops_cleanly(faulty: Faulty, launcher: Launcher) -> None:
    """A Bot API that does not answer getMe: SIGTERM still ends the process, with status 0."""
    api = faulty.api
    api.stall_everything = True
    bot = launcher.start()
    wait_for("the bot to ask for getMe", lambda: api.stalled > 0, bot, START_TIMEOUT)
    code, seconds = stop(bot)
    assert code == 0, bot.output()
    assert seconds < STOP_WITHIN, bot.output()
    err = bot.stderr.read_text(errors="replace")
    assert "Traceback" not in err and "stopped during start-up" in err, err


REASONS = [
    pytest.param(409, CONFLICT, "start", "another process is fetching", id="conflict-at-start"),
    pytest.param(409, CONFLICT, "running", "another process is fetching", id="conflict-later"),
    pytest.param(401, "Unauthorized", "running", "refused MISTRI_TELEGRAM_TOKEN", id="revoked"),
]


@pytest.mark.parametrize(("status", "description", "when", "words"), REASONS)
def test_a_second_poller_or_a_refused_token_stops_the_bot_in_one_line(
    faulty: Faulty, launcher: Launcher, status: int, description: str, when: str, words: str
) -> None:
    api = faulty.api
    if when == "start":
        api.refuse("getUpdates", status, description)
    bot = launcher.start()
    if when == "running":
        answer_help(faulty, bot)
        api.refuse("getUpdates", status, description)
        api.enqueue(api.text_update(CUSTOMER, "/privacy", "Rahim", "en"))  # ends the poll
    try:
        code = bot.process.wait(START_TIMEOUT + STOP_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after getUpdates answered {status}\n{bot.output()}")
    err = bot.stderr.read_text(errors="replace")
    assert code == 1, bot.output()
    assert "Traceback" not in err, err
    ours = [line for line in err.splitlines() if line.startswith("mistri-bot:")]
    assert ours == [err.strip().splitlines()[-1]], err  # one line of ours, the last one
    assert words in ours[0], err
    assert TOKEN not in err + bot.stdout.read_text(errors="replace")
    refused = [call for call in api.calls if call.method == "getUpdates" and call.status != 200]
    assert len(refused) == 1  # not retried


def test_the_watchdog_ends_a_process_that_would_not_stop() -> None:
    """The last resort: whatever holds the process, it ends at the limit, saying so."""
    began = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; from service.polling import start_watchdog;"
            " start_watchdog(0.5); time.sleep(30)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert time.monotonic() - began < 15  # imports included
    assert done.stderr.strip().splitlines() == [
        "mistri-bot: stopping took too long; ending the process now"
        " (committed data is kept, pending notices go out after the restart)"
    ]
