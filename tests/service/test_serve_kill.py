"""A real ``mistri-bot serve`` process: signed webhooks over HTTP, SIGKILL, restart, SIGTERM.

The Graph API is the fake (``channels/whatsapp/fake_api``) behind a loopback HTTP server that
can hold the bot's requests: the first answer hangs there while the customer's next message
is stored and queued behind it, and the process is killed. After the restart the stored
message is handled exactly once, and the one handled before the kill is not handled again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.whatsapp.fake_api import FakeGraphApi, Webhooks, signed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

APP_SECRET = "kill-test-app-secret"
VERIFY_TOKEN = "kill-test-verify"
DATA_KEY = "serve-kill-secret-0123456789abcdef0123456789"
CUSTOMER = "8801711000042"
START_TIMEOUT = 30.0
ANSWER_TIMEOUT = 15.0


class HeldGraphApi:
    """The fake Graph API over HTTP; while ``holding``, requests wait and are then dropped."""

    def __init__(self, api: FakeGraphApi) -> None:
        self.api = api
        self.holding = False
        self.held = 0
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if outer.holding:
                    outer.held += 1
                    outer.release.wait(60)
                    # Its process is gone: it never reaches the fake.
                    self._answer(httpx.Response(503))
                    return
                request = httpx.Request(
                    "POST",
                    f"http://fake{self.path}",
                    headers=dict(self.headers.items()),
                    content=body,
                )
                self._answer(outer.api.handle(request))

            def _answer(self, response: httpx.Response) -> None:
                with contextlib.suppress(OSError):
                    self.send_response(response.status_code)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(response.content)))
                    self.end_headers()
                    self.wfile.write(response.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v26.0"

    def __enter__(self) -> HeldGraphApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_command() -> list[str]:
    beside = Path(sys.executable).parent / "mistri-bot"
    script = str(beside) if beside.exists() else shutil.which("mistri-bot")
    if script:
        return [script, "serve"]
    return [
        sys.executable,
        "-c",
        "from service.cli import main; raise SystemExit(main(['serve']))",
    ]


class Processes:
    def __init__(self, tmp_path: Path, graph_url: str) -> None:
        self.tmp_path = tmp_path
        self.database = tmp_path / "serve.db"
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRI_")}
        self.env.update(
            {
                "MISTRI_DATABASE_URL": f"sqlite+aiosqlite:///{self.database}",
                "MISTRI_DATA_KEY": DATA_KEY,
                "MISTRI_ADMIN_CHAT_ID": "-100500",
                "MISTRI_LISTEN": f"127.0.0.1:{self.port}",
                "MISTRI_WHATSAPP_TOKEN": "test-token",
                "MISTRI_WHATSAPP_PHONE_NUMBER_ID": "100200300",
                "MISTRI_WHATSAPP_APP_SECRET": APP_SECRET,
                "MISTRI_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
                "MISTRI_WHATSAPP_API_URL": graph_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.started: list[subprocess.Popen[bytes]] = []
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.started)
        with (self.tmp_path / f"err{n}.log").open("wb") as err:
            process = subprocess.Popen(
                serve_command(), cwd=self.tmp_path, env=self.env, stdout=err, stderr=err
            )
        self.started.append(process)
        wait_for("/healthz", self.healthy, process, START_TIMEOUT)
        return process

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.tmp_path.glob("err*.log"))
        )

    def post(self, payload: dict[str, Any]) -> int:
        raw, header = signed(payload, APP_SECRET)
        answer = httpx.post(
            f"{self.url}/whatsapp",
            content=raw,
            headers={"X-Hub-Signature-256": header},
            timeout=5,
        )
        return answer.status_code

    def inbox(self) -> list[tuple[str, str, int]]:
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            return db.execute(
                "SELECT external_id, state, attempts FROM inbox ORDER BY id"
            ).fetchall()

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def wait_for(
    what: str, predicate: Callable[[], Any], process: subprocess.Popen[bytes], timeout: float
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"serve exited (status {process.returncode}) waiting for {what}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def graph() -> Iterator[HeldGraphApi]:
    with HeldGraphApi(FakeGraphApi()) as held:
        yield held


@pytest.fixture
def processes(tmp_path: Path, graph: HeldGraphApi) -> Iterator[Processes]:
    launched = Processes(tmp_path, graph.url)
    try:
        yield launched
    finally:
        launched.kill_all()


def texts(api: FakeGraphApi) -> list[str]:
    found = []
    for body in api.sent_to(CUSTOMER):
        part = body.get("text") or body.get("interactive", {}).get("body") or {}
        found.append(str(part.get("body", body.get("type"))))
    return found


def test_a_stored_message_survives_sigkill_and_is_handled_once(
    processes: Processes, graph: HeldGraphApi
) -> None:
    hooks = Webhooks(graph.api)
    first = hooks.text(CUSTOMER, "/privacy")
    second = hooks.text(CUSTOMER, "/help")
    ids = [p["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for p in (first, second)]

    bot = processes.start()
    graph.holding = True
    assert processes.post(first) == 200
    # Its answer hangs at the Graph API: the first message is handled, its answer not out.
    wait_for("the first answer to reach the Graph API", lambda: graph.held, bot, ANSWER_TIMEOUT)
    assert processes.post(second) == 200  # stored, and queued behind the first
    assert processes.inbox() == [(ids[0], "done", 1), (ids[1], "pending", 0)]
    bot.send_signal(signal.SIGKILL)
    bot.wait(10)
    graph.holding = False
    graph.release.set()
    assert graph.api.sent_to(CUSTOMER) == []

    bot = processes.start()
    wait_for(
        "the second message's answer", lambda: graph.api.sent_to(CUSTOMER), bot, ANSWER_TIMEOUT
    )
    assert processes.post(second) == 200  # Meta's redelivery changes nothing
    time.sleep(0.5)  # room for a wrong second answer to arrive
    answers = texts(graph.api)
    assert processes.inbox() == [(ids[0], "done", 1), (ids[1], "done", 1)]

    # The same answer to the same command, asked once more: it is what /help answers.
    mark = len(graph.api.sent_to(CUSTOMER))
    assert processes.post(hooks.text(CUSTOMER, "/help")) == 200
    wait_for("a fresh /help", lambda: len(graph.api.sent_to(CUSTOMER)) > mark, bot, ANSWER_TIMEOUT)
    time.sleep(0.3)
    assert texts(graph.api)[mark:] == answers

    started = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    assert bot.wait(10) == 0, processes.output()
    assert time.monotonic() - started < 10
