"""Scale benchmark: bookings through ``serve`` on PostgreSQL with 1 and 2 workers, beside SQLite.

Every system but ``sqlite-run`` is a server over loopback HTTP (bench/serving.py): U Telegram
customers, all active at once, post the updates of one booking each to ``POST /telegram`` with
the secret header; the fake Bot API is served over loopback too and reached by the server's
own HTTP client, so every answer is a real request; a customer's next update goes once the
answer it needs arrived. Measured: updates/s, POST → its 200 (the update stored) and POST →
the first answer, p50 / p99; the servers' CPU per update.

``pg-serve-1``   one ``serve`` process on PostgreSQL (a database made for the run).
``pg-serve-2``   two ``serve`` processes on that one database, the posts taken in turn as a
                 load balancer spreads them (each person's updates then land on both: the
                 inbox's claims keep them in order).
``sqlite-serve`` one ``serve`` process on a SQLite file.
``sqlite-run``   bench/booking.py's ``ours`` in ``interleaved`` mode: ``run``'s runtime, the
                 in-process fake Bot API, no HTTP (the embedded default).
``ptb-webhook``  python-telegram-bot's own ``run_webhook`` (tornado) with a
                 ``ConversationHandler`` and no persistence (bench/booking.py's ``ch-none``),
                 its default HTTP client to the fake Bot API: nothing durable, for scale.

All servers run the offline mode (no 1 s pacing per chat, no flood cap, no retention) as the
other benchmarks do. Targets (issue 14): one PostgreSQL worker >= 0.5x SQLite ``run``; two
workers >= 1.3x one; p99 under 50 ms.

    python3 tools/uv.py run python bench/scale.py --quick
    python3 tools/uv.py run python bench/scale.py --users 1000 --repeat 3
    (PostgreSQL: MISTRI_BENCH_POSTGRES_URL, else tools/pg.sh's cluster)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import warnings
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
SYSTEMS = ("pg-serve-1", "pg-serve-2", "sqlite-serve", "sqlite-run", "ptb-webhook")


# --------------------------------------------------------------- the PTB webhook subprocess


def ptb_child(config: dict[str, Any]) -> None:
    """python-telegram-bot's ``run_webhook`` with the ConversationHandler booking bot."""
    import logging

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    application = booking.build_conversation_bot(
        "ch-none",
        None,
        Path(config["workdir"]),
        config["concurrency"],
        base_url=f"http://127.0.0.1:{config['api_port']}/bot",
    )
    application.run_webhook(
        listen="127.0.0.1",
        port=config["port"],
        url_path="telegram",
        secret_token=serving.WEBHOOK_SECRET,
        webhook_url=f"http://127.0.0.1:{config['port']}/telegram",
        allowed_updates=["message", "callback_query"],
    )


# ------------------------------------------------------------------------- PostgreSQL


def postgres_url() -> str:
    """The cluster to make the runs' databases on."""
    url = os.environ.get("MISTRI_BENCH_POSTGRES_URL")
    if url:
        return url
    made = subprocess.run(
        [str(ROOT / "tools" / "pg.sh")], capture_output=True, text=True, check=True
    )
    return made.stdout.strip()


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def fresh_database(cluster: str, name: str) -> str:
    """Make database ``name`` on the cluster, empty; return its SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    asyncio.run(_admin(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(cluster, f'CREATE DATABASE "{name}"'))
    return make_url(cluster).set(database=name).render_as_string(hide_password=False)


def drop_database(cluster: str, name: str) -> None:
    """Drop database ``name``."""
    asyncio.run(_admin(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ---------------------------------------------------------------------------- the runs


def run_system(name: str, base: dict[str, Any], cluster: str | None) -> dict[str, Any]:
    """One run of system ``name``."""
    if name == "sqlite-run":
        config = {
            **base,
            "system": "ours",
            "mode": "interleaved",
            "active": base["users"],
            "keep_api_state": False,
        }
        result = booking.run_config(config, keep_workdir=False)
        result["system"] = name
        return result
    config: dict[str, Any] = {**base, "channel": "telegram", "name": name}
    if name == "ptb-webhook":
        config.update(script="scale.py", stores_orders=False, ready="/")
        return serving.run_in_child(config)
    if name == "sqlite-serve":
        return serving.run_in_child(config)
    if cluster is None:
        return {"system": name, "failed": True, "stderr": "no PostgreSQL"}
    database = f"mistri_bench_{os.getpid()}"
    config["database_url"] = fresh_database(cluster, database)
    config["workers"] = 2 if name == "pg-serve-2" else 1
    try:
        result = serving.run_in_child(config)
        if not result.get("failed") and result.get("updates"):
            result["database_per_update"] = asyncio.run(
                _database_work(cluster, database, result["updates"])
            )
        return result
    finally:
        drop_database(cluster, database)


async def _database_work(cluster: str, database: str, updates: int) -> dict[str, float]:
    """What the run cost PostgreSQL per update: transactions and rows (pg_stat_database)."""
    import asyncpg

    await asyncio.sleep(1.0)  # the backends report their statistics within a second
    connection = await asyncpg.connect(cluster.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await connection.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,"
            " tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1",
            database,
        )
    finally:
        await connection.close()
    return {key: round(float(value) / updates, 2) for key, value in dict(row or {}).items()}


def _row(run: dict[str, Any]) -> str:
    if run.get("failed"):
        return f"| {run['system']} | failed | — | — | — | False |"
    repeats = ", ".join(map(str, run.get("repeats", [run["updates_per_s"]])))
    if "stored" in run:
        stored = f"{run['stored']['p50_ms']} / {run['stored']['p99_ms']}"
        answered = f"{run['answered']['p50_ms']} / {run['answered']['p99_ms']}"
        cpu = run.get("serve_cpu_ms_per_update")
    else:  # sqlite-run: no HTTP; the handler's own time
        lat = run["latency"]
        stored, answered, cpu = "— (no HTTP)", f"{lat['p50_ms']} / {lat['p99_ms']}", "—"
    ok = run.get("ok", True)
    rate = f"{run['updates_per_s']:,} ({repeats})"
    return f"| {run['system']} | {rate} | {stored} | {answered} | {cpu} | {ok} |"


def report(run: dict[str, Any]) -> None:
    """Print the table and the verdicts."""
    print(
        f"\nrevision {run['revision']}, {run['machine']['cpu']}, {run['machine']['nproc']} CPUs,"
        f" U={run['users']}, think {run['think_ms']} ms,"
        f" medians of {run['repeat']} (systems taking turns)\n"
    )
    print(
        "| system | updates/s, median (runs) | POST→200 p50 / p99 ms |"
        " POST→answer p50 / p99 ms | servers' CPU ms/update | ok |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    medians = run["medians"]
    for name in run["systems"]:
        print(_row(medians[name]))

    def rate(name: str) -> float | None:
        found = medians.get(name)
        return None if not found or found.get("failed") else float(found["updates_per_s"])

    print()
    for label, top, bottom, target in (
        ("one PostgreSQL worker / SQLite run", "pg-serve-1", "sqlite-run", 0.5),
        ("two PostgreSQL workers / one", "pg-serve-2", "pg-serve-1", 1.3),
    ):
        a, b = rate(top), rate(bottom)
        if a is None or b is None:
            print(f"n/a: {label} (not run)")
            continue
        verdict = "PASS" if a / b >= target else "FAIL"
        print(f"{verdict}: {label} = {a / b:.2f}x (target >= {target}x)")
    for name in run["systems"]:
        work = medians[name].get("database_per_update")
        if work:
            print(
                f"{name}: PostgreSQL per update: " + ", ".join(f"{k} {v}" for k, v in work.items())
            )
    for name in run["systems"]:
        found = medians[name]
        if found.get("failed") or "answered" not in found:
            continue
        p99 = found["answered"]["p99_ms"]
        verdict = "PASS" if p99 < 50 else "FAIL"
        print(f"{verdict}: {name} POST→answer p99 = {p99} ms (target < 50 ms)")


def main(argv: list[str] | None = None) -> int:
    """Run the systems in turns and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of a customer between steps (latency below saturation); 0: none",
    )
    parser.add_argument("--quick", action="store_true", help="100 users, once: a smoke")
    parser.add_argument("--serve-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_child:
        ptb_child(json.loads(args.serve_child))
        return 0
    users = 100 if args.quick else args.users
    repeat = 1 if args.quick else args.repeat
    systems = args.systems.split(",")
    cluster = None
    if any(name.startswith("pg-") for name in systems):
        try:
            cluster = postgres_url()
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"no PostgreSQL ({error}): the pg- systems are skipped", file=sys.stderr)
    base = {
        "users": users,
        "concurrency": args.concurrency,
        "budget": args.budget,
        "think_ms": args.think_ms,
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    for _ in range(repeat):  # the systems take turns, round after round
        for name in systems:
            runs[name].append(run_system(name, base, cluster))
    run = {
        "revision": revision(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "users": users,
        "repeat": repeat,
        "think_ms": args.think_ms,
        "systems": systems,
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": booking._cpu_name(),
            "python": platform.python_version(),
        },
        "medians": {name: booking.median_of(found) for name, found in runs.items()},
        "rounds": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"scale-{stamp}.json"
    out.write_text(json.dumps(run, indent=1))
    report(run)
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
