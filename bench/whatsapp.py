"""WhatsApp benchmark: complete bookings through ``serve`` over loopback HTTP, beside Telegram.

``whatsapp-serve``  bench/serving.py: a real uvicorn server (a subprocess) on 127.0.0.1 with
              ``serve``'s app (``service.serve.build_app`` over ``opened``: the inbox, the
              intake, the core, the outbox, the WhatsApp channel), in the offline mode the
              Telegram benchmark's runtime also has (no pacing per chat, no flood cap, no
              retention). U customers, all active at once, each post the 11 webhooks of one
              booking, signed with the app secret (httpx, keep-alive, 32 connections taken in
              turn). The fake Graph API is served over loopback too, by uvicorn in the load
              process: the channel's replies are real HTTP requests. A customer's next update
              goes once the step's answer arrived. Measured: POST to its 200 (the update
              stored in the inbox) and POST to the first reply the fake API received for that
              customer; the CPU time per update of serve and of the load process.
``telegram-serve``  the same with Telegram's webhook: ``POST /telegram`` with the secret
              header, the fake Bot API served over loopback and reached by
              python-telegram-bot's own HTTP client (``MISTRI_TELEGRAM_BASE_URL``); the
              booking of bench/booking.py. The like for like the target names.
``telegram-run``  bench/booking.py's ``ours`` in ``interleaved`` mode (the production
              runtime fed as polling feeds it, the in-process fake Bot API, no HTTP), run by
              its own code, in the same run; systems take turns with ``--repeat``.

Target: WhatsApp through serve within 0.8x of Telegram through serve (its webhook).

    python3 tools/uv.py run python bench/whatsapp.py --quick
    python3 tools/uv.py run python bench/whatsapp.py --users 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import booking  # bench/booking.py, beside this script
import serving  # bench/serving.py
from revision import revision

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
TARGET = 0.8


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput, every run's throughput attached."""
    return booking.median_of(runs)


def _serve_row(name: str, run: dict[str, Any]) -> str:
    return (
        f"| {name} | {run['updates_per_s']:,}"
        f" ({', '.join(map(str, run.get('repeats', [run['updates_per_s']])))}) |"
        f" {run['stored']['p50_ms']} / {run['stored']['p99_ms']} |"
        f" {run['answered']['p50_ms']} / {run['answered']['p99_ms']} |"
        f" {run.get('serve_cpu_ms_per_update')} | {run['ok']} |"
    )


def report(run: dict[str, Any]) -> None:
    """Print the table and the verdict line."""
    wa, tg, tg_run = run["whatsapp"], run["telegram_serve"], run["telegram_run"]
    print(
        f"\nrevision {run['revision']}, {run['machine']['cpu']}, {run['machine']['nproc']} CPUs,"
        f" U={run['users']}, medians of {run['repeat']} (systems taking turns)\n"
    )
    print(
        "| system | updates/s, median (runs) | POST→200 (stored) p50 / p99 ms |"
        " POST→reply sent p50 / p99 ms | serve CPU ms/update | ok |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    if not wa.get("failed"):
        print(_serve_row("WhatsApp through `serve` (loopback HTTP)", wa))
    if not tg.get("failed"):
        print(_serve_row("Telegram through `serve` (webhook, loopback HTTP)", tg))
    if not tg_run.get("failed"):
        lat = tg_run["latency"]
        print(
            f"| Telegram through `run` (in-process fake Bot API) | {tg_run['updates_per_s']:,}"
            f" ({', '.join(map(str, tg_run.get('repeats', [tg_run['updates_per_s']])))}) |"
            f" — (no HTTP; handler done p50 {lat['p50_ms']} / p99 {lat['p99_ms']}) |"
            f" — | — | {tg_run.get('ok')} |"
        )
    ratio = None
    if not wa.get("failed") and not tg.get("failed"):
        ratio = wa["updates_per_s"] / tg["updates_per_s"]
    passed = ratio is not None and ratio >= TARGET and wa.get("ok") and tg.get("ok")
    verdict = "PASS" if passed else "FAIL"
    shown = f"{ratio:.2f}x" if ratio is not None else "n/a"
    print(
        f"\n{verdict}: WhatsApp through serve = {shown} Telegram through serve (its webhook);"
        f" target >= {TARGET}x"
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
    parser.add_argument(
        "--systems",
        default="whatsapp-serve,telegram-serve,telegram-run",
        help="which systems, comma-separated",
    )
    args = parser.parse_args(argv)
    if args.serve_child:
        serving.serve_child(json.loads(args.serve_child))
        return 0
    if args.load_child:
        serving.load_child(json.loads(args.load_child), serving.load_run)
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
    systems = args.systems.split(",")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    for _ in range(repeat):  # the systems take turns, round after round
        for name in systems:
            if name == "telegram-run":
                runs[name].append(booking.run_config(telegram, keep_workdir=False))
            else:
                channel = name.removesuffix("-serve")
                runs[name].append(serving.run_in_child({**base, "channel": channel}))
    failed = {"failed": True}
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
        "whatsapp": median_of(runs["whatsapp-serve"]) if "whatsapp-serve" in runs else failed,
        "telegram_serve": median_of(runs["telegram-serve"])
        if "telegram-serve" in runs
        else failed,
        "telegram_run": median_of(runs["telegram-run"]) if "telegram-run" in runs else failed,
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
