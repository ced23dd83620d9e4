"""The kill test: ``mistri-bot run`` against a real HTTP Bot API, SIGKILLed mid-booking.

The bot runs as a separate process with ``MISTRI_TELEGRAM_BASE_URL`` pointing at a loopback
server speaking the Bot API (``tests.fakes.http_bot_api``). Its conversation state must be
durable at every step: a new process on the same database continues where the killed one was.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from channels.telegram.fake_api import ApiCall, FakeBotApi
from tests.fakes.http_bot_api import serve_bot_api

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

TOKEN = "123456:TEST-restart-token-0000000000000000"
DATA_KEY = "restart-test-secret-0123456789abcdef0123456789"
CUSTOMER = 6_001_001
ADMIN_CHAT = -100_500  # `run` refuses to start without an operators' chat
LANG = "en"
START_TIMEOUT = 30.0  # the process imports, migrates and starts polling in ~2-5 s
ANSWER_TIMEOUT = 15.0
STOP_TIMEOUT = 20.0


def bot_command() -> list[str]:
    """The console script of this environment, or the same entry point through -c."""
    beside = Path(sys.executable).parent / "mistri-bot"
    script = str(beside) if beside.exists() else shutil.which("mistri-bot")
    if script:
        return [script, "run"]
    return [sys.executable, "-c", "from service.cli import main; raise SystemExit(main(['run']))"]


@dataclass
class Server:
    api: FakeBotApi
    base_url: str


@pytest.fixture
def server() -> Iterator[Server]:
    api = FakeBotApi()
    with serve_bot_api(api) as base_url:
        yield Server(api, base_url)


@dataclass
class BotProcess:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return (
            f"exit={self.process.poll()}\n--- stdout\n{self.stdout.read_text(errors='replace')}"
            f"\n--- stderr\n{self.stderr.read_text(errors='replace')}"
        )


class Launcher:
    """Starts ``mistri-bot run`` processes and makes sure none outlives the test."""

    def __init__(self, tmp_path: Path, base_url: str) -> None:
        self.tmp_path = tmp_path
        self.database = tmp_path / "bot.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRI_")}
        env.update(
            {
                "MISTRI_TELEGRAM_TOKEN": TOKEN,
                "MISTRI_TELEGRAM_BASE_URL": base_url,
                "MISTRI_DATABASE_URL": f"sqlite+aiosqlite:///{self.database}",
                "MISTRI_DATA_KEY": DATA_KEY,
                "MISTRI_ADMIN_CHAT_ID": str(ADMIN_CHAT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env = env
        self.started: list[BotProcess] = []

    def start(self) -> BotProcess:
        n = len(self.started)
        stdout, stderr = self.tmp_path / f"out{n}.log", self.tmp_path / f"err{n}.log"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                bot_command(), cwd=self.tmp_path, env=self.env, stdout=out, stderr=err
            )
        launched = BotProcess(process, stdout, stderr)
        self.started.append(launched)
        return launched

    def kill_all(self) -> None:
        for launched in self.started:
            if launched.process.poll() is None:
                launched.process.kill()
                launched.process.wait(10)


@pytest.fixture
def launcher(tmp_path: Path, server: Server) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path, server.base_url)
    try:
        yield launcher
    finally:
        launcher.kill_all()


def wait_for(
    what: str, predicate: Callable[[], Any], bot: BotProcess, timeout: float = ANSWER_TIMEOUT
) -> Any:
    """Poll ``predicate`` until it is truthy; fail early if the bot process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if bot.process.poll() is not None:
            pytest.fail(f"the bot exited while waiting for {what}\n{bot.output()}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{bot.output()}")


def calls_since(api: FakeBotApi, mark: int) -> list[ApiCall]:
    return list(api.calls[mark:])


def sent_since(api: FakeBotApi, mark: int, chat: int) -> list[ApiCall]:
    return [
        call
        for call in calls_since(api, mark)
        if call.params.get("chat_id") == chat and call.method.startswith("send")
    ]


def inline_data(call: ApiCall) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", ()) for b in row]


def reply_keys(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [key for row in markup.get("keyboard", ()) for key in row]


def message_with_button(api: FakeBotApi, chat: int, data: str) -> int:
    found = None
    for message in api.messages(chat):  # ids are not dense: the bot's chats share a counter
        buttons = [
            b.get("callback_data")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", ())
            for b in row
        ]
        if data in buttons:
            found = message["message_id"]
    assert found is not None, f"no message offers {data!r}"
    return found


class Customer:
    """Talks to the bot process through the fake server's update queue (as anyone: a user)."""

    def __init__(self, api: FakeBotApi, user: int = CUSTOMER, lang: str = LANG) -> None:
        self.api = api
        self.user = user
        self.lang = lang

    def _send(
        self,
        update: dict[str, Any],
        bot: BotProcess,
        until: Callable[[ApiCall], bool],
        timeout: float = ANSWER_TIMEOUT,
    ) -> ApiCall:
        mark = len(self.api.calls)
        self.api.enqueue(update)

        def answered() -> ApiCall | None:
            for call in sent_since(self.api, mark, self.user):
                if until(call):
                    return call
            return None

        call: ApiCall = wait_for(f"the answer to {update}", answered, bot, timeout)
        return call

    def say(
        self,
        text: str,
        bot: BotProcess,
        until: Callable[[ApiCall], bool],
        timeout: float = ANSWER_TIMEOUT,
    ) -> ApiCall:
        update = self.api.text_update(self.user, text, "Rahim", self.lang)
        return self._send(update, bot, until, timeout)

    def press(self, data: str, bot: BotProcess, until: Callable[[ApiCall], bool]) -> ApiCall:
        message_id = message_with_button(self.api, self.user, data)
        update = self.api.callback_update(self.user, data, message_id, "Rahim", self.lang)
        return self._send(update, bot, until)


def asks(marker: str) -> Callable[[ApiCall], bool]:
    return lambda call: marker in str(call.params.get("text", ""))


def offers(data: str) -> Callable[[ApiCall], bool]:
    return lambda call: data in inline_data(call)


def keys_ask_for(kind: str) -> Callable[[ApiCall], bool]:
    return lambda call: any(key.get(kind) for key in reply_keys(call))


REFERENCE = re.compile(r"MS-[A-Z0-9]{4,}")


def book(customer: Customer, bot: BotProcess) -> str:
    """Play a whole booking through the process, in any language; return its reference."""
    customer.say("/book", bot, offers("bk:consent:yes"), START_TIMEOUT)
    customer.press("bk:consent:yes", bot, offers("bk:service:plumbing"))
    customer.press("bk:service:plumbing", bot, offers("bk:problem:skip"))
    customer.say("Kitchen tap is leaking", bot, offers("bk:area:mirpur"))
    customer.press("bk:area:mirpur", bot, keys_ask_for("request_location"))
    customer.say("House 12, Road 5, Mirpur 10", bot, keys_ask_for("request_contact"))
    customer.say("01712345678", bot, lambda call: {"text": "Rahim"} in reply_keys(call))
    time_prompt = customer.say("Rahim", bot, offers("bk:time:back"))
    slot = next(d for d in inline_data(time_prompt) if d != "bk:time:back")
    customer.press(slot, bot, offers("bk:summary:confirm"))
    confirmed = customer.press(
        "bk:summary:confirm", bot, lambda call: bool(REFERENCE.search(call.params.get("text", "")))
    )
    found = REFERENCE.search(confirmed.params["text"])
    assert found is not None
    return found.group(0)


def test_killed_mid_booking_the_next_process_continues_at_the_same_step(
    server: Server, launcher: Launcher
) -> None:
    api = server.api
    customer = Customer(api)
    first = launcher.start()
    # Queued before the process polls: Telegram keeps updates until a bot fetches them.
    customer.say("/start", first, lambda call: "go:book" in inline_data(call), START_TIMEOUT)
    customer.press("go:book", first, lambda call: "bk:consent:yes" in inline_data(call))
    customer.press(
        "bk:consent:yes", first, lambda call: "bk:service:plumbing" in inline_data(call)
    )
    customer.press(
        "bk:service:plumbing", first, lambda call: "bk:problem:skip" in inline_data(call)
    )
    customer.say(
        "Kitchen tap is leaking", first, lambda call: "bk:area:mirpur" in inline_data(call)
    )
    customer.press(
        "bk:area:mirpur",
        first,
        lambda call: any(key.get("request_location") for key in reply_keys(call)),
    )
    phone_prompt = customer.say(
        "House 12, Road 5, Mirpur 10",
        first,
        lambda call: any(key.get("request_contact") for key in reply_keys(call)),
    )
    assert "Your mobile number?" in phone_prompt.params["text"]
    # Telegram forgets an update once the next getUpdates confirms it; wait for that, so the
    # new process is not simply handed the address again.
    wait_for("the updates to be confirmed", lambda: api.pending_updates == 0, first)

    first.process.send_signal(signal.SIGKILL)
    assert first.process.wait(STOP_TIMEOUT) == -signal.SIGKILL

    mark = len(api.calls)
    second = launcher.start()
    name_prompt = customer.say(
        "01712345678", second, asks("What name should the technician ask for?"), START_TIMEOUT
    )
    assert reply_keys(name_prompt)[0] == {"text": "Rahim"}
    to_customer = sent_since(api, mark, CUSTOMER)
    assert [call.method for call in to_customer] == ["sendMessage", "sendMessage"]
    assert to_customer[0].params["text"] == "📞 Phone: 01712345678"
    assert to_customer[1] is name_prompt
    # Not from the start: no greeting, no consent question, no service menu again.
    texts = " ".join(str(call.params.get("text")) for call in to_customer)
    assert "Welcome" not in texts and "Before we start" not in texts

    # The rest of the booking works on the new process too, answers kept across the kill.
    time_prompt = customer.say("Rahim", second, asks("When should the technician come?"))
    slot = next(d for d in inline_data(time_prompt) if d != "bk:time:back")
    summary = customer.press(slot, second, asks("Please check your booking"))
    assert "Kitchen tap is leaking" in summary.params["text"]
    assert "House 12, Road 5, Mirpur 10" in summary.params["text"]
    assert "01712345678" in summary.params["text"]
    assert all(call.status == 200 for call in api.calls if call.method != "getUpdates")

    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(STOP_TIMEOUT) == 0, second.output()
    assert "Traceback" not in second.stderr.read_text(errors="replace")


def test_base_url_is_honoured_and_sigterm_stops_cleanly(
    server: Server, launcher: Launcher
) -> None:
    api = server.api
    bot = launcher.start()
    api.enqueue(api.text_update(CUSTOMER, "/help", "Rahim", LANG))
    wait_for("the answer to /help", lambda: api.sent_to(CUSTOMER), bot, START_TIMEOUT)
    methods = [call.method for call in api.calls]
    assert methods[0] == "getMe"
    assert methods.index("getMe") < methods.index("getUpdates")
    menus = {
        call.params.get("language_code"): call.params["commands"]
        for call in api.calls
        if call.method == "setMyCommands" and call.status == 200
    }
    assert {"bn", "en"} <= set(menus)
    for commands in menus.values():
        names = [command["command"] for command in commands]
        assert names[:2] == ["book", "myorders"]
        assert {"cancel", "privacy", "language", "help", "jobs"} <= set(names)
    assert api.commands("en") == menus["en"]
    polls = [call for call in api.calls if call.method == "getUpdates"]
    assert sorted(polls[0].params.get("allowed_updates") or []) == ["callback_query", "message"]

    # The bot answers through that server, too.
    help_call = api.sent_to(CUSTOMER)[0]
    assert "/book" in help_call.params["text"]
    assert help_call.params["parse_mode"] == "HTML"

    bot.process.send_signal(signal.SIGTERM)
    assert bot.process.wait(STOP_TIMEOUT) == 0, bot.output()
    stderr = bot.stderr.read_text(errors="replace")
    assert "Traceback" not in stderr
    assert TOKEN not in stderr + bot.stdout.read_text(errors="replace")  # the token stays secret


TECHNICIAN = 6_002_002


def register_technician(launcher: Launcher) -> None:
    command = [
        *bot_command()[:-1],
        "technician",
        "add",
        "--telegram-id",
        str(TECHNICIAN),
        "--name",
        "Karim",
        "--phone",
        "01812345678",
        "--services",
        "plumbing",
        "--areas",
        "all",
        "--lang",
        "en",
    ]
    if command[0] == sys.executable:  # the -c form: append the arguments to main([...])
        args = command[command.index("technician") :]
        command = [
            sys.executable,
            "-c",
            f"from service.cli import main; raise SystemExit(main({args!r}))",
        ]
    done = subprocess.run(
        command,
        cwd=launcher.tmp_path,
        env=launcher.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_notice_committed_before_a_kill_is_delivered_once_after_restart(
    server: Server, launcher: Launcher
) -> None:
    api = server.api
    register_technician(launcher)
    # The technician's chat fails (HTTP 500) until further notice: the offer is committed to
    # the outbox, tried, and waits for a retry when the process is killed.
    api.fail_next(TECHNICIAN, 500, "Internal Server Error", times=10_000)
    customer = Customer(api)
    first = launcher.start()
    reference = book(customer, first)

    def tried() -> bool:
        return any(
            call.status == 500 and call.params.get("chat_id") == TECHNICIAN for call in api.calls
        )

    wait_for("a first, failed, attempt at the offer", tried, first)
    wait_for("the updates to be confirmed", lambda: api.pending_updates == 0, first)
    first.process.send_signal(signal.SIGKILL)
    assert first.process.wait(STOP_TIMEOUT) == -signal.SIGKILL
    assert not api.sent_to(TECHNICIAN)

    api._faults.clear()  # the technician's chat works again
    second = launcher.start()
    notices = wait_for("the offer after restart", lambda: api.sent_to(TECHNICIAN), second, 30)
    time.sleep(2)  # anything sent twice would arrive within the worker's next rounds
    notices = api.sent_to(TECHNICIAN)
    assert len(notices) == 1, [call.params for call in notices]
    assert reference in notices[0].params["text"]
    assert any(data.startswith("job:acc:") for data in inline_data(notices[0]))
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(STOP_TIMEOUT) == 0, second.output()


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_a_booking_through_the_base_url_reaches_the_technician_and_back(
    server: Server, launcher: Launcher, lang: str
) -> None:
    """Via MISTRI_TELEGRAM_BASE_URL, bn or en: booked, accepted, contact after Accept, told."""
    api = server.api
    register_technician(launcher)
    bot = launcher.start()
    reference = book(Customer(api, lang=lang), bot)
    confirmation = " ".join(str(call.params.get("text")) for call in api.sent_to(CUSTOMER))
    bengali = re.search(r"[\u0980-\u09FF]", confirmation) is not None
    assert bengali == (lang == "bn")

    [notice] = wait_for("the job notice", lambda: api.sent_to(TECHNICIAN), bot)
    assert reference in notice.params["text"]
    assert "Rahim" not in notice.params["text"] and "01712345678" not in notice.params["text"]
    accept = next(d for d in inline_data(notice) if d.startswith("job:acc:"))
    technician = Customer(api, user=TECHNICIAN, lang="en")
    contact = technician.press(accept, bot, asks("01712345678"))
    assert "Rahim" in contact.params["text"] and "House 12, Road 5" in contact.params["text"]

    phone = "০১৮১২৩৪৫৬৭৮" if lang == "bn" else "01812345678"  # Karim's, in the customer's digits
    told = wait_for(
        "the customer to hear who is coming",
        lambda: [c for c in api.sent_to(CUSTOMER) if "Karim" in str(c.params.get("text"))],
        bot,
    )
    assert phone in told[0].params["text"]
    assert all(call.status == 200 for call in api.calls if call.method != "getUpdates")
    bot.process.send_signal(signal.SIGTERM)
    assert bot.process.wait(STOP_TIMEOUT) == 0, bot.output()
