"""``mistri-bot serve --workers 2`` on PostgreSQL, as a real process: two workers, one socket.

Several customers post at once; each message is answered once, and each customer's answers
come in the order of their messages (the fake Graph API records them). SIGTERM stops the
parent and both workers.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from channels.whatsapp.fake_api import FakeGraphApi, Webhooks
from tests.service.test_serve_kill import HeldGraphApi, Processes, serve_command, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGTERM")

CUSTOMERS = [f"88017110009{n:02d}" for n in range(6)]
COMMANDS = ("/help", "/privacy", "/help")


@pytest.fixture
def graph() -> Iterator[HeldGraphApi]:
    with HeldGraphApi(FakeGraphApi()) as held:
        yield held


def runs(kinds: list[str]) -> list[str]:
    """``kinds`` with repeats in a row said once."""
    return [kind for n, kind in enumerate(kinds) if n == 0 or kinds[n - 1] != kind]


def inbox_rows(url: str) -> list[tuple[str, int]]:
    parsed = make_url(url)

    async def read() -> list[tuple[str, int]]:
        connection = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
        )
        try:
            found = await connection.fetch("SELECT state, attempts FROM inbox ORDER BY id")
        finally:
            await connection.close()
        return [(row[0], row[1]) for row in found]

    return asyncio.run(read())


def test_two_workers_answer_each_message_once_in_each_persons_order(
    backend: str, database_url: str, tmp_path: Path, graph: HeldGraphApi
) -> None:
    if backend != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    processes = Processes(tmp_path, graph.url)
    processes.env["MISTRI_DATABASE_URL"] = database_url
    with (tmp_path / "err.log").open("wb") as err:
        parent = subprocess.Popen(
            [*serve_command(), "--workers", "2"],
            cwd=tmp_path,
            env=processes.env,
            stdout=err,
            stderr=err,
        )
    try:
        wait_for("/healthz", processes.healthy, parent, 30)
        hooks = Webhooks(graph.api)
        # One customer's messages one after the other (each after the 200 of the last), the
        # customers side by side: their posts spread over both workers.
        bodies = {who: [hooks.text(who, command) for command in COMMANDS] for who in CUSTOMERS}

        def customer(who: str) -> list[int]:
            return [processes.post(body) for body in bodies[who]]

        with ThreadPoolExecutor(len(CUSTOMERS)) as pool:
            statuses = list(pool.map(customer, CUSTOMERS))
        assert statuses == [[200] * len(COMMANDS)] * len(CUSTOMERS)
        expected = len(CUSTOMERS) * len(COMMANDS)

        def all_done() -> bool:
            return inbox_rows(database_url) == [("done", 1)] * expected

        wait_for("every message handled", all_done, parent, 20)
        time.sleep(0.5)  # room for a wrong second answer
        first = [answer["type"] for answer in graph.api.sent_to(CUSTOMERS[0])]
        for who in CUSTOMERS:
            # /help is answered with a list, /privacy with texts (three): in that order, with
            # nothing of one answer between the parts of another.
            kinds = [answer["type"] for answer in graph.api.sent_to(who)]
            assert runs(kinds) == ["interactive", "text", "interactive"], (who, kinds)
            assert kinds == first
        assert inbox_rows(database_url) == [("done", 1)] * expected

        started = time.monotonic()
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(15) == 0, (tmp_path / "err.log").read_text()
        assert time.monotonic() - started < 10
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
