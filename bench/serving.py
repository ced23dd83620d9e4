"""Bookings through ``serve`` over loopback HTTP: the server process and the load, per channel.

Used by ``bench/whatsapp.py``. One run: a real uvicorn server (a subprocess running
``service.serve.build_app`` over ``opened``, as ``mistri-bot serve`` does: the webhook check,
the inbox row stored before the 200, the intake, the core, the outbox, the channel) and, in
this (the load) process, the channel's fake API served by uvicorn over loopback too, so every
reply is a real HTTP request. U customers, all active at once, each post the updates of one
booking; a customer's next update goes once the answer it needs arrived.

``whatsapp``  signed webhooks to ``POST /whatsapp``; the fake Graph API.
``telegram``  updates to ``POST /telegram`` with the secret header; the fake Bot API, reached
              by python-telegram-bot's own HTTP client at ``MISTRI_TELEGRAM_BASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import booking  # bench/booking.py, beside this script (it puts the project on sys.path)

from tests.service.booking_steps import TELEGRAM_STEPS, WHATSAPP_STEPS

APP_SECRET = "bench-app-secret-0123456789"
GRAPH_TOKEN = "bench-graph-token"
PHONE_NUMBER_ID = "100200300"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
FIRST_WA_ID = 8801_500_000_000
#: Connections the load's client posts on (kept alive), as webhooks come on a few.
CONNECTIONS = 32
#: A customer whose answer takes longer than this has failed the run.
ANSWER_TIMEOUT_S = 60.0

#: The booking each customer plays, by channel (the kill harness plays the same).
SEQUENCES = {"whatsapp": WHATSAPP_STEPS, "telegram": TELEGRAM_STEPS}


def free_port() -> int:
    """A port free on the loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) a process has used so far, in seconds (Linux; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------- the serve subprocess


def serve_child(config: dict[str, Any]) -> None:
    """Run ``serve``'s app for one channel under uvicorn on the loopback until terminated."""
    from pydantic import SecretStr

    from service.config import Settings
    from tests.service.serve_child import serve_offline

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    api = f"http://127.0.0.1:{config['api_port']}"
    common: dict[str, Any] = {
        "_env_file": None,
        "database_url": config.get("database_url")
        or f"sqlite+aiosqlite:///{config['workdir']}/bench.db",
        "data_key": SecretStr(booking.SECRET),
        "admin_chat_id": -100_200_300,
    }
    if config["channel"] == "whatsapp":
        settings = Settings(
            **common,
            telegram_token=None,
            whatsapp_token=SecretStr(GRAPH_TOKEN),
            whatsapp_phone_number_id=PHONE_NUMBER_ID,
            whatsapp_app_secret=SecretStr(APP_SECRET),
            whatsapp_verify_token=SecretStr("bench-verify"),
            whatsapp_api_url=f"{api}/v21.0",
        )
    else:
        settings = Settings(
            **common,
            telegram_token=SecretStr(booking.TOKEN),
            telegram_base_url=f"{api}/bot",
            webhook_secret=SecretStr(WEBHOOK_SECRET),
        )
    serve_offline(settings, port=config["port"], concurrency=config["concurrency"])


def start_serve(child: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    """Start a server subprocess (``child["server"]``: serve, or another), errors to ``log``."""
    script = Path(__file__).resolve().parent / child.get("script", "whatsapp.py")
    with log.open("wb") as errors:
        return subprocess.Popen(
            [sys.executable, str(script), "--serve-child", json.dumps(child)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


# -------------------------------------------------------------- the load (this) process


class Replies:
    """What the fake API received, per customer; wakes the customer each answer is for."""

    def __init__(self) -> None:
        self.received: dict[str, list[tuple[float, str]]] = {}
        self.events: dict[str, asyncio.Event] = {}
        self.refused = 0

    def note(self, to: str, raw: str) -> None:
        """Record a call to customer ``to`` and wake them."""
        self.received.setdefault(to, []).append((time.perf_counter(), raw))
        event = self.events.get(to)
        if event is not None:
            event.set()


def graph_app(replies: Replies) -> Any:
    """The fake Graph API as an ASGI app (``channels/whatsapp/fake_api/asgi.py``)."""
    from channels.whatsapp.fake_api import FakeGraphApi
    from channels.whatsapp.fake_api.asgi import graph_app as served

    api = FakeGraphApi(phone_number_id=PHONE_NUMBER_ID, token=GRAPH_TOKEN, windows=False)

    def message(to: str, body: dict[str, Any], status: int) -> None:
        if status != 200:
            replies.refused += 1
        replies.note(to, json.dumps(body))

    # The bench keeps its own record, not the fake's.
    return served(api, on_message=message, keep_calls=False)


def bot_api_app(replies: Replies, api: Any) -> Any:
    """The fake Bot API as an ASGI app (``channels/telegram/fake_api/asgi.py``)."""
    from channels.telegram.fake_api.asgi import bot_api_app as served

    def call(chat: str, method: str, params: dict[str, Any], status: int) -> None:
        if status != 200:
            replies.refused += 1
        replies.note(chat, json.dumps(params))

    return served(api, on_call=call)


class Histogram:
    """Latencies in seconds; percentiles in ms."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, value: float) -> None:
        """Add one latency."""
        self.values.append(value)

    def summary(self) -> dict[str, Any]:
        """Count, p50, p99 and max in ms."""
        ordered = sorted(self.values)
        if not ordered:
            return {"n": 0}

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

        return {"n": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


#: Builds one post: (customer number, step, kind, value) -> (path, body, headers).
Post = Callable[[int, int, str, str], tuple[str, bytes, dict[str, str]]]


def _whatsapp_post(replies: Replies) -> Post:
    from channels.whatsapp.fake_api import Webhooks, signed

    hooks = Webhooks()

    def post(number: int, step: int, kind: str, value: str) -> tuple[str, bytes, dict[str, str]]:
        wa_id = str(FIRST_WA_ID + number)
        if kind == "text":
            body = hooks.text(wa_id, value, "Rahim")
        else:
            data = value
            if "[" in value:  # a pattern: the id the bot offered
                texts = [raw for _, raw in replies.received.get(wa_id, [])]
                data = re.findall(value, "\n".join(texts))[-1]
            body = hooks.button(wa_id, data)
        raw, header = signed(body, APP_SECRET)
        return "/whatsapp", raw, {"X-Hub-Signature-256": header}

    return post


def _telegram_post(api: Any) -> Post:
    def post(number: int, step: int, kind: str, value: str) -> tuple[str, bytes, dict[str, str]]:
        update = booking.build_update(api, booking.FIRST_USER + number, kind, value)
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
            "Content-Type": "application/json",  # as Telegram sends it
        }
        return "/telegram", json.dumps(update).encode(), headers

    return post


async def _count_orders(config: dict[str, Any], workdir: Path) -> int | None:
    """How many orders the run stored (SQLite file or PostgreSQL database)."""
    url = config.get("database_url")
    if not url:
        return booking._count(workdir / "bench.db", "orders")
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM orders"))
    finally:
        await connection.close()


def _cpu_of(servers: list[subprocess.Popen[bytes]]) -> float | None:
    """CPU seconds the servers used so far, together."""
    found = [cpu_seconds(server.pid) for server in servers]
    return None if None in found else sum(value for value in found if value is not None)


def _customer_key(channel: str, number: int) -> str:
    if channel == "whatsapp":
        return str(FIRST_WA_ID + number)
    return str(booking.FIRST_USER + number)


async def load_run(config: dict[str, Any]) -> dict[str, Any]:
    """Start serve and the channel's fake API, play U interleaved bookings, return figures."""
    import httpx
    import uvicorn

    channel = config["channel"]
    sequence = SEQUENCES[channel]
    replies = Replies()
    if channel == "whatsapp":
        api_app = graph_app(replies)
        make_post = _whatsapp_post(replies)
    else:
        bot_api = booking.make_api()
        api_app = bot_api_app(replies, bot_api)
        make_post = _telegram_post(bot_api)
    api_port = free_port()
    # Several servers (workers) on one database: a load balancer's view, posts taken in turn.
    ports = [free_port() for _ in range(config.get("workers", 1))]
    api_server = uvicorn.Server(
        uvicorn.Config(
            api_app,
            host="127.0.0.1",
            port=api_port,
            log_level="error",
            access_log=False,
            lifespan="off",
        )
    )
    api_task = asyncio.create_task(api_server.serve())
    workdir = Path(tempfile.mkdtemp(prefix=f"mistri-bench-{channel}-"))
    servers = [
        start_serve(
            {"workdir": str(workdir), "api_port": api_port, "port": port, **config},
            workdir / f"serve-{port}.log",
        )
        for port in ports
    ]
    stored, answered, by_step = Histogram(), Histogram(), [Histogram() for _ in sequence]
    statuses: dict[int, int] = {}
    retried = [0]
    # Posts wait for one of CONNECTIONS connections here, not in httpx's pool: its work per
    # request grows with the requests waiting in it times its connections (bench/README.md).
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    turns = asyncio.Semaphore(CONNECTIONS)
    posted = [0]
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120
                    )
                )
                for port in ports
            ]
            for client, server in zip(clients, servers, strict=True):
                for _ in range(600):  # until the server has opened the runtime and listens
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(config.get("ready", "/healthz"))).status_code < 500:
                            break
                    if server.poll() is not None:
                        raise RuntimeError(f"a server stopped; see the logs in {workdir}")
                    await asyncio.sleep(0.1)

            async def send(path: str, raw: bytes, headers: dict[str, str]) -> httpx.Response:
                posted[0] += 1
                client = clients[posted[0] % len(clients)]
                for attempt in range(3):
                    try:
                        async with turns:
                            return await client.post(path, content=raw, headers=headers)
                    except httpx.TransportError:
                        # uvicorn closes a connection idle for 5 s (its default, serve's too)
                        # as it is reused: posted again, as Meta and Telegram retry.
                        retried[0] += 1
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

            async def customer(number: int) -> bool:
                key = _customer_key(channel, number)
                event = replies.events.setdefault(key, asyncio.Event())
                seen = 0
                think = random.Random(number)
                for step, (kind, value, needs) in enumerate(sequence):
                    if config.get("think_ms"):
                        # A person reads the answer before the next step (exponential, mean
                        # think_ms): an offered load below saturation, for latencies.
                        await asyncio.sleep(think.expovariate(1000 / config["think_ms"]))
                    path, raw, headers = make_post(number, step, kind, value)
                    event.clear()
                    sent = time.perf_counter()
                    answer = await send(path, raw, headers)
                    stored.add(time.perf_counter() - sent)
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                    first = True
                    while True:
                        got = replies.received.get(key, [])
                        if len(got) > seen and first:
                            answered.add(got[seen][0] - sent)
                            by_step[step].add(got[seen][0] - sent)
                            first = False
                        new = "\n".join(raw for _, raw in got[seen:])
                        if len(got) > seen and (needs is None or re.search(needs, new)):
                            seen = len(got)
                            break
                        try:
                            await asyncio.wait_for(event.wait(), ANSWER_TIMEOUT_S)
                        except TimeoutError:
                            return False
                        event.clear()
                return True

            started, cpu_before = time.perf_counter(), _cpu_of(servers)
            load_before = time.process_time()
            done = await asyncio.gather(*(customer(n) for n in range(config["users"])))
            seconds = time.perf_counter() - started
            cpu_after, load_cpu = _cpu_of(servers), time.process_time() - load_before
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(15)
            if server.poll() is None:
                server.kill()
        api_server.should_exit = True
        await api_task
        orders = await _count_orders(config, workdir)
        shutil.rmtree(workdir, ignore_errors=True)
    updates = len(stored.values)
    completed = sum(done)
    return {
        "system": config.get("name", f"{channel}-serve"),
        "users": config["users"],
        "workers": len(ports),
        "users_completed": completed,
        "updates": updates,
        "seconds": round(seconds, 3),
        "updates_per_s": round(updates / seconds, 1),
        "stored": stored.summary(),
        "answered": answered.summary(),
        "steps": {value: h.summary() for (_, value, _), h in zip(sequence, by_step, strict=True)},
        "http_statuses": statuses,
        "posts_retried": retried[0],
        # CPU per update: serve's (the server under test) and this load process's (the
        # client, the fake API): on a small machine they share the CPUs.
        "serve_cpu_ms_per_update": round((cpu_after - cpu_before) / updates * 1000, 2)
        if cpu_before is not None and cpu_after is not None and updates
        else None,
        "load_cpu_ms_per_update": round(load_cpu / updates * 1000, 2) if updates else None,
        "api_refused": replies.refused,
        "orders_stored": orders,
        "ok": completed == config["users"]
        and set(statuses) == {200}
        and not replies.refused
        and (orders == config["users"] or not config.get("stores_orders", True)),
    }


def run_in_child(config: dict[str, Any]) -> dict[str, Any]:
    """One serve run in a fresh load process (as booking.py runs each configuration)."""
    name = config.get("name", f"{config['channel']}-serve")
    script = Path(__file__).resolve().parent / "whatsapp.py"
    command = [sys.executable, str(script), "--load-child", json.dumps(config)]
    print(f"  running {name:<18} U={config['users']:<7} ...", end="", flush=True, file=sys.stderr)
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=config["budget"] + 600
    )
    try:
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result = {"system": name, "failed": True, "stderr": completed.stderr[-2000:]}
        print(" FAILED\n" + result["stderr"], file=sys.stderr)
        return result
    print(
        f" {result['updates_per_s']:>8} upd/s,"
        f" answered p99 {result['answered'].get('p99_ms')} ms, ok {result['ok']}",
        file=sys.stderr,
    )
    return result


def load_child(config: dict[str, Any], run: Callable[[dict[str, Any]], Awaitable[Any]]) -> None:
    """The ``--load-child`` entry: run and print the figures as one JSON line."""
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(run(config))))
