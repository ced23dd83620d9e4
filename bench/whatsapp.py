"""WhatsApp benchmark: complete bookings through ``serve`` over loopback HTTP, beside Telegram.

``whatsapp``  a real uvicorn server (a subprocess) on 127.0.0.1 with ``serve``'s app
              (``service.serve.build_app`` over ``opened``: the inbox, the intake, the core,
              the outbox, the WhatsApp channel), in the offline mode the Telegram benchmark's
              runtime also has (no pacing per chat, no flood cap, no retention). U customers,
              all active at once, each post the 11 webhooks of one booking, signed with the
              app secret (httpx, keep-alive, 32 connections taken in turn). The fake Graph
              API is served over loopback too, by uvicorn in this (the load) process: the
              channel's replies are real HTTP requests. A customer's next update goes once
              the step's answer arrived. Measured: POST to its 200 (the update stored in the
              inbox) and POST to the first reply the fake Graph API received for that
              customer; the CPU time per update of serve and of the load process.
``telegram-run``  bench/booking.py's ``ours`` in ``interleaved`` mode (the production
              runtime fed as polling feeds it, the in-process fake Bot API), run by its own
              code, in the same run; systems take turns with ``--repeat``.

Telegram through ``serve`` (a webhook, ``POST /telegram``) does not exist yet (issue 14):
the target "WhatsApp within 0.8x of Telegram's webhook" is checked against ``run``.

    python3 tools/uv.py run python bench/whatsapp.py --quick
    python3 tools/uv.py run python bench/whatsapp.py --users 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import booking  # bench/booking.py, beside this script
from revision import revision

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
APP_SECRET = "bench-app-secret-0123456789"
GRAPH_TOKEN = "bench-graph-token"
PHONE_NUMBER_ID = "100200300"
FIRST_WA_ID = 8801_500_000_000
TARGET = 0.8
#: Connections the load's client posts on (kept alive), as Meta's webhooks come on a few.
CONNECTIONS = 32

#: One booking: (kind, what is sent, what the next step needs in an answer: a button id as a
#: regular expression, or None for any answer).
SEQUENCE: tuple[tuple[str, str, str | None], ...] = (
    ("text", "/start", "go:book"),
    ("button", "go:book", "bk:consent:yes"),
    ("button", "bk:consent:yes", "bk:service:plumbing"),
    ("button", "bk:service:plumbing", None),
    ("text", "Kitchen tap is leaking", "bk:area:mirpur"),
    ("button", "bk:area:mirpur", None),
    ("text", "House 12, Road 5, Block C, near the mosque", r"wa\|contact"),
    ("button", "wa|contact", None),
    ("text", "Rahim Uddin", r"bk:time:[0-9]{8}-evening"),
    ("button", r"bk:time:[0-9]{8}-evening", "bk:summary:confirm"),
    ("button", "bk:summary:confirm", r"MS-"),
)


def free_port() -> int:
    """A port free on the loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------- the serve subprocess


def serve_child(config: dict[str, Any]) -> None:
    """Run ``serve``'s app under uvicorn on the loopback until terminated."""
    import uvicorn
    from pydantic import SecretStr

    from service.config import Settings
    from service.serve import build_app, opened

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{config['workdir']}/bench.db",
        data_key=SecretStr(booking.SECRET),
        telegram_token=None,
        whatsapp_token=SecretStr(GRAPH_TOKEN),
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=SecretStr(APP_SECRET),
        whatsapp_verify_token=SecretStr("bench-verify"),
        whatsapp_api_url=f"http://127.0.0.1:{config['graph_port']}/v21.0",
    )
    app = build_app(lambda: opened(settings, offline=True, concurrency=config["concurrency"]))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=config["port"],
        lifespan="on",
        log_level="error",
        access_log=False,
    )


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) a process has used so far, in seconds (Linux; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_serve(child: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    """Start the serve subprocess, its errors written to ``log``."""
    with log.open("wb") as errors:
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-child", json.dumps(child)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


# -------------------------------------------------------------- the load (this) process


class Replies:
    """The fake Graph API over loopback; wakes the customer each answer is for."""

    def __init__(self) -> None:
        from channels.whatsapp.fake_api import FakeGraphApi

        self.api = FakeGraphApi(phone_number_id=PHONE_NUMBER_ID, token=GRAPH_TOKEN, windows=False)
        self.received: dict[str, list[tuple[float, str]]] = {}
        self.events: dict[str, asyncio.Event] = {}
        self.refused = 0

    def app(self) -> Any:
        import httpx
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def graph(request: Request) -> Response:
            raw = await request.body()
            answer = self.api.handle(
                httpx.Request("POST", str(request.url), headers=request.headers.raw, content=raw)
            )
            if answer.status_code != 200:
                self.refused += 1
            with contextlib.suppress(ValueError):
                body = json.loads(raw)
                to = str(body.get("to", ""))
                self.received.setdefault(to, []).append((time.perf_counter(), raw.decode()))
                self.api.calls.clear()  # the bench keeps its own record, not the fake's
                event = self.events.get(to)
                if event is not None:
                    event.set()
            return Response(answer.content, answer.status_code, media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", graph, methods=["POST"])])


class Histogram:
    """Latencies in seconds; percentiles in ms."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, value: float) -> None:
        self.values.append(value)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.values)
        if not ordered:
            return {"n": 0}

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

        return {"n": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


async def whatsapp_run(config: dict[str, Any]) -> dict[str, Any]:
    """Start serve and the fake Graph API, play U interleaved bookings, return the figures."""
    import httpx
    import uvicorn

    from channels.whatsapp.fake_api import Webhooks, signed

    replies = Replies()
    graph_port, port = free_port(), free_port()
    graph = uvicorn.Server(
        uvicorn.Config(
            replies.app(),
            host="127.0.0.1",
            port=graph_port,
            log_level="error",
            access_log=False,
            lifespan="off",
        )
    )
    graph_task = asyncio.create_task(graph.serve())
    workdir = Path(tempfile.mkdtemp(prefix="mistri-bench-wa-"))
    child = {"workdir": str(workdir), "graph_port": graph_port, "port": port, **config}
    server = start_serve(child, workdir / "serve.log")
    hooks = Webhooks()
    stored, answered, by_step = Histogram(), Histogram(), [Histogram() for _ in SEQUENCE]
    statuses: dict[int, int] = {}
    retried = [0]
    # Posts wait for one of CONNECTIONS connections here, not in httpx's pool: its work per
    # request grows with the requests waiting in it times its connections (bench/README.md).
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    turns = asyncio.Semaphore(CONNECTIONS)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120
        ) as client:
            for _ in range(600):  # until serve has opened the runtime and listens
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                if server.poll() is not None:
                    raise RuntimeError("serve stopped; see its log")
                await asyncio.sleep(0.1)

            async def customer(number: int) -> bool:
                wa_id = str(FIRST_WA_ID + number)
                event = replies.events.setdefault(wa_id, asyncio.Event())
                seen = 0
                for step, (kind, value, needs) in enumerate(SEQUENCE):
                    if kind == "text":
                        body = hooks.text(wa_id, value, "Rahim")
                    else:
                        data = value
                        if "[" in value:  # a pattern: the id the bot offered
                            texts = [raw for _, raw in replies.received.get(wa_id, [])]
                            data = re.findall(value, "\n".join(texts))[-1]
                        body = hooks.button(wa_id, data)
                    raw, header = signed(body, APP_SECRET)
                    event.clear()
                    sent = time.perf_counter()
                    for attempt in range(3):
                        try:
                            async with turns:
                                answer = await client.post(
                                    "/whatsapp",
                                    content=raw,
                                    headers={"X-Hub-Signature-256": header},
                                )
                            break
                        except httpx.TransportError:
                            # uvicorn closes a connection idle for 5 s (its default, serve's
                            # too) as it is reused: posted again, as Meta retries.
                            retried[0] += 1
                            if attempt == 2:
                                raise
                    stored.add(time.perf_counter() - sent)
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                    first = True
                    while True:
                        got = replies.received.get(wa_id, [])
                        if len(got) > seen and first:
                            answered.add(got[seen][0] - sent)
                            by_step[step].add(got[seen][0] - sent)
                            first = False
                        new = "\n".join(raw for _, raw in got[seen:])
                        if len(got) > seen and (needs is None or re.search(needs, new)):
                            seen = len(got)
                            break
                        try:
                            await asyncio.wait_for(event.wait(), 60)
                        except TimeoutError:
                            return False
                        event.clear()
                return True

            started, cpu_before = time.perf_counter(), cpu_seconds(server.pid)
            load_before = time.process_time()
            done = await asyncio.gather(*(customer(n) for n in range(config["users"])))
            seconds = time.perf_counter() - started
            cpu_after, load_cpu = cpu_seconds(server.pid), time.process_time() - load_before
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(15)
        if server.poll() is None:
            server.kill()
        graph.should_exit = True
        await graph_task
        orders = booking._count(workdir / "bench.db", "orders")
        shutil.rmtree(workdir, ignore_errors=True)
    updates = len(stored.values)
    completed = sum(done)
    return {
        "system": "whatsapp-serve",
        "users": config["users"],
        "users_completed": completed,
        "updates": updates,
        "seconds": round(seconds, 3),
        "updates_per_s": round(updates / seconds, 1),
        "stored": stored.summary(),
        "answered": answered.summary(),
        "steps": {value: h.summary() for (_, value, _), h in zip(SEQUENCE, by_step, strict=True)},
        "http_statuses": statuses,
        "posts_retried": retried[0],
        # CPU per update: serve's (the server under test) and this load process's (the
        # client, the fake Graph API): on a small machine they share the CPUs.
        "serve_cpu_ms_per_update": round((cpu_after - cpu_before) / updates * 1000, 2)
        if cpu_before is not None and cpu_after is not None and updates
        else None,
        "load_cpu_ms_per_update": round(load_cpu / updates * 1000, 2) if updates else None,
        "graph_refused": replies.refused,
        "orders_stored": orders,
        "ok": completed == config["users"]
        and set(statuses) == {200}
        and not replies.refused
        and orders == config["users"],
    }


def whatsapp_config(config: dict[str, Any]) -> dict[str, Any]:
    """One WhatsApp run in a fresh process (as booking.py runs each configuration)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--load-child", json.dumps(config)]
    print(
        f"  running whatsapp-serve     U={config['users']:<7} ...",
        end="",
        flush=True,
        file=sys.stderr,
    )
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=config["budget"] + 600
    )
    try:
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result = {"system": "whatsapp-serve", "failed": True, "stderr": completed.stderr[-2000:]}
        print(" FAILED\n" + result["stderr"], file=sys.stderr)
        return result
    print(
        f" {result['updates_per_s']:>8} upd/s, answered p99 {result['answered']['p99_ms']} ms",
        file=sys.stderr,
    )
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput, every run's throughput attached."""
    return booking.median_of(runs)


def report(run: dict[str, Any]) -> None:
    """Print the table and the verdict line."""
    wa, tg = run["whatsapp"], run["telegram_run"]
    print(
        f"\nrevision {run['revision']}, {run['machine']['cpu']}, {run['machine']['nproc']} CPUs,"
        f" U={run['users']}, medians of {run['repeat']} (systems taking turns)\n"
    )
    print(
        "| system | updates/s, median (runs) | POST→200 (stored) p50 / p99 ms |"
        " POST→reply sent p50 / p99 ms | ok |"
    )
    print("| --- | ---: | ---: | ---: | --- |")
    if not wa.get("failed"):
        print(
            f"| WhatsApp through `serve` (loopback HTTP) | {wa['updates_per_s']:,}"
            f" ({', '.join(map(str, wa.get('repeats', [wa['updates_per_s']])))}) |"
            f" {wa['stored']['p50_ms']} / {wa['stored']['p99_ms']} |"
            f" {wa['answered']['p50_ms']} / {wa['answered']['p99_ms']} | {wa['ok']} |"
        )
    if not tg.get("failed"):
        lat = tg["latency"]
        print(
            f"| Telegram through `run` (in-process fake Bot API) | {tg['updates_per_s']:,}"
            f" ({', '.join(map(str, tg.get('repeats', [tg['updates_per_s']])))}) |"
            f" — (no HTTP; handler done p50 {lat['p50_ms']} / p99 {lat['p99_ms']}) |"
            f" — | {tg.get('ok')} |"
        )
    print("| Telegram through `serve` (webhook) | not built yet (issue 14) | — | — | — |")
    ratio = None
    if not wa.get("failed") and not tg.get("failed"):
        ratio = wa["updates_per_s"] / tg["updates_per_s"]
    verdict = "PASS" if ratio is not None and ratio >= TARGET and wa.get("ok") else "FAIL"
    shown = f"{ratio:.2f}x" if ratio is not None else "n/a"
    print(
        f"\n{verdict}: WhatsApp through serve = {shown} Telegram's updates/s (target >= "
        f"{TARGET}x of Telegram's webhook; compared with `run`, the webhook not existing yet)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run both systems, in turns, and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--quick", action="store_true", help="100 users, once: a smoke")
    parser.add_argument("--serve-child", help=argparse.SUPPRESS)
    parser.add_argument("--load-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_child:
        serve_child(json.loads(args.serve_child))
        return 0
    if args.load_child:
        warnings.filterwarnings("ignore")
        logging.basicConfig(level=logging.ERROR)
        print(json.dumps(asyncio.run(whatsapp_run(json.loads(args.load_child)))))
        return 0
    users = 100 if args.quick else args.users
    repeat = 1 if args.quick else args.repeat
    base = {"users": users, "concurrency": args.concurrency, "budget": args.budget}
    telegram = {
        **base,
        "system": "ours",
        "mode": "interleaved",
        "active": users,
        "keep_api_state": False,
        "think_ms": 0,
    }
    runs: dict[str, list[dict[str, Any]]] = {"whatsapp": [], "telegram": []}
    for _ in range(repeat):  # the systems take turns, round after round
        runs["whatsapp"].append(whatsapp_config(base))
        runs["telegram"].append(booking.run_config(telegram, keep_workdir=False))
    run = {
        "revision": revision(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "users": users,
        "repeat": repeat,
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": booking._cpu_name(),
            "python": platform.python_version(),
        },
        "whatsapp": median_of(runs["whatsapp"]),
        "telegram_run": median_of(runs["telegram"]),
        "rounds": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"whatsapp-{stamp}.json"
    out.write_text(json.dumps(run, indent=1))
    report(run)
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
