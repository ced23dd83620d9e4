"""Privacy benchmarks: key rotation, /deleteme on a big database, the cost of encryption.

Key rotation (the default): how fast ``mistri-bot keys rotate`` re-encrypts data.

Builds a SQLite database holding N encrypted values (default 1,000,000) spread over the tables
as the bot fills them (per customer: a profile with 5 values and a phone index, 2 orders with
7 values each, 1 conversation session), under a key in a key file beside it. Then runs the
rotation exactly as the command does (``service.rotate.rotate_keys``, key file case: a new key is
generated, every value re-encrypted, every blind index recomputed, the old key dropped),
checks the result, and prints the rate against the target of 20,000 values/s.

    uv run python bench/privacy.py --quick          # 50,000 values
    uv run python bench/privacy.py                  # 1,000,000 values
    uv run python bench/privacy.py --values 200000 --keep /tmp/rotation-bench

``--deleteme``: builds a database of N orders (default 1,000,000; ``--quick`` 50,000), their
personal columns encrypted under the keyring as the bot stores them, with one customer holding
1,000 of them spread over the whole table, then times ``storage.erasure.erase_customer`` plus
the commit for that customer on fresh copies of the file (p50 of ``--runs``, target < 200 ms).

    uv run python bench/privacy.py --deleteme --quick
    uv run python bench/privacy.py --deleteme --orders 1000000 --runs 5

``--encryption-overhead``: runs ``bench/booking.py``'s ``ours``/sequential configuration
(``booking.Run``) with the real keyring and with encrypt/decrypt replaced by stubs that only
frame the bytes (same layout and length, no AES, no random nonce), alternately in fresh
processes, and reports the throughput lost to encryption (target < 10%).

    uv run python bench/privacy.py --encryption-overhead --quick
    uv run python bench/privacy.py --encryption-overhead --users 1000 --runs 3

See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Runnable as a plain script from anywhere (hence the imports below it), like booking.py.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from conversations.events import Address  # noqa: E402
from service.config import Settings  # noqa: E402
from service.rotate import rotate_keys  # noqa: E402
from storage import erasure, migrate  # noqa: E402
from storage.crypto import Keyring, install_keyring, new_secret  # noqa: E402
from storage.database import Database, create_engine  # noqa: E402
from storage.keys import read_key_file, verify_key  # noqa: E402
from storage.rotation import encrypted_tables  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_VALUES_PER_S = 20_000
DEFAULT_VALUES = 1_000_000
QUICK_VALUES = 50_000
#: Values per customer: 5 in the profile, 7 in each of 2 orders, 1 in the session.
PER_CUSTOMER = 5 + 2 * 7 + 1
INSERT_ROWS = 5_000

ORDER_COLUMNS = ("area_other", "address", "latitude", "longitude", "phone", "name", "problem")
#: A half-finished booking of a Telegram user (sessions are keyed by channel and person id).
SESSION_SQL = (
    "INSERT INTO conversation_sessions (channel, person_id, lang, flow, step, data, updated_at)"
    " VALUES ('telegram', ?, 'bn', 'booking', 'phone', ?, ?)"
)


def _phone(n: int) -> str:
    # Synthetic numbers in the 013 range, one per customer.
    return f"+88013{n:08d}"


def build(path: Path, values: int, secret: str) -> dict[str, int]:
    """Create the schema, the key check and ``values`` encrypted values; return rows per table."""
    url = f"sqlite+aiosqlite:///{path}"
    ring = Keyring.from_secrets([secret])

    async def schema() -> None:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await verify_key(engine, ring)
        await engine.dispose()

    asyncio.run(schema())
    customers = values // PER_CUSTOMER
    extra_sessions = values - customers * PER_CUSTOMER
    now = datetime.now(UTC).isoformat(sep=" ")
    rng = random.Random(7)

    def seal(plain: str, purpose: str) -> bytes:
        return ring.encrypt(plain.encode(), purpose)

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # setup only: not what is measured
    with connection:
        for start in range(0, customers, INSERT_ROWS):
            ids = range(start + 1, min(start + INSERT_ROWS, customers) + 1)
            profile_rows, order_rows, session_rows = [], [], []
            for n in ids:
                phone = _phone(n)
                lat, lon = 23.7 + rng.random() / 10, 90.35 + rng.random() / 10
                profile_rows.append(
                    (
                        n,
                        str(7_000_000 + n),
                        seal(f"Customer {n}", "customers.name"),
                        seal(phone, "customers.phone"),
                        ring.blind_index(phone),
                        seal(f"House {n % 200}, Road {n % 30}, Mirpur", "customers.address"),
                        seal(repr(lat), "customers.latitude"),
                        seal(repr(lon), "customers.longitude"),
                        now,
                    )
                )
                for k in (0, 1):
                    plain = {
                        "area_other": "Near the mosque",
                        "address": f"House {n % 200}, Road {n % 30}, Mirpur",
                        "latitude": repr(lat),
                        "longitude": repr(lon),
                        "phone": phone,
                        "name": f"Customer {n}",
                        "problem": "The kitchen tap leaks and the basin drains slowly",
                    }
                    order_rows.append(
                        (
                            2 * n - 1 + k,
                            f"B{2 * n + k:08d}",
                            f"draft-{n}-{k}",
                            n,
                            *(seal(plain[c], f"orders.{c}") for c in ORDER_COLUMNS),
                            "2026-11-25",
                            now,
                        )
                    )
                session_rows.append((str(7_000_000 + n), _session(n, ring), now))
            connection.executemany(
                "INSERT INTO customers (id, channel, external_id, lang, name, phone,"
                " phone_index, address, latitude, longitude, created_at, updated_at)"
                " VALUES (?, 'telegram', ?, 'bn', ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row, row[-1]) for row in profile_rows],
            )
            connection.executemany(
                "INSERT INTO orders (id, reference, draft_id, customer_id, lang, service, area,"
                " area_other, address, latitude, longitude, phone, name, problem, visit_date,"
                " visit_part, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'bn', 'plumbing', 'mirpur', ?, ?, ?, ?, ?, ?, ?, ?,"
                " 'evening', 'done', ?, ?)",
                [(*row, row[-1]) for row in order_rows],
            )
            connection.executemany(SESSION_SQL, session_rows)
        connection.executemany(
            SESSION_SQL,
            [(str(9_000_000 + n), _session(n, ring), now) for n in range(extra_sessions)],
        )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return {
        "customers": customers,
        "orders": 2 * customers,
        "conversation_sessions": customers + extra_sessions,
    }


def _session(n: int, ring: Keyring) -> bytes:
    data = {"service": "plumbing", "area": "mirpur", "name": f"Customer {n}"}
    plain = json.dumps(data, separators=(",", ":"))
    return ring.encrypt(plain.encode(), "conversation_sessions.data")


def count_values(path: Path) -> int:
    """Return how many encrypted values the database holds."""
    connection = sqlite3.connect(path)
    total = 0
    try:
        for spec in encrypted_tables():
            for name, _ in spec.columns:
                total += connection.execute(f"SELECT count({name}) FROM {spec.name}").fetchone()[0]
    finally:
        connection.close()
    return total


def not_under(path: Path, ring: Keyring) -> int:
    """Count values not encrypted under ``ring``'s current key."""
    prefix = ring.current_prefix
    connection = sqlite3.connect(path)
    left = 0
    try:
        for spec in encrypted_tables():
            for name, _ in spec.columns:
                left += connection.execute(
                    f"SELECT count(*) FROM {spec.name} WHERE {name} IS NOT NULL"
                    f" AND substr({name}, 1, ?) != ?",
                    (len(prefix), prefix),
                ).fetchone()[0]
    finally:
        connection.close()
    return left


def spot_check(path: Path, ring: Keyring) -> None:
    """Decrypt a few customers with the new key and find them by their new phone index."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT id, phone, phone_index FROM customers ORDER BY random() LIMIT 20"
        ).fetchall()
    finally:
        connection.close()
    for customer_id, phone, index in rows:
        plain = ring.decrypt(phone, "customers.phone").decode()
        assert plain == _phone(customer_id), "a phone did not survive the rotation"
        assert index == ring.blind_index(plain), "a phone index was not recomputed"


def rotation(values: int, keep: Path | None) -> dict[str, Any]:
    """Build the database, rotate its key as the command does, check and time it."""
    workdir = keep or Path(tempfile.mkdtemp(prefix="mistri-rotation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "rotation.db"
    for leftover in workdir.glob("rotation.db*"):
        leftover.unlink()
    old = new_secret()
    key_file = Path(f"{path}.key")
    key_file.write_text(old + "\n")
    key_file.chmod(0o600)

    started = time.perf_counter()
    rows = build(path, values, old)
    built_s = time.perf_counter() - started
    stored = count_values(path)
    assert stored == values, f"built {stored} values, wanted {values}"
    print(
        f"built {values:,} values in {sum(rows.values()):,} rows in {built_s:.1f} s "
        f"({path.stat().st_size / 1e6:.0f} MB)",
        flush=True,
    )

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{path}",
        data_key=None,
    )
    out, err = io.StringIO(), io.StringIO()
    os.environ.pop("MISTRI_ROTATE_BATCH_SIZE", None)
    os.environ.pop("MISTRI_ROTATE_PAUSE_MS", None)
    started = time.perf_counter()
    code = asyncio.run(rotate_keys(settings, out=out, err=err))
    seconds = time.perf_counter() - started
    assert code == 0, err.getvalue()

    secrets = read_key_file(key_file)
    assert len(secrets) == 1 and secrets[0] != old, "the old key is still in the key file"
    ring = Keyring.from_secrets(secrets)
    left = not_under(path, ring)
    assert left == 0, f"{left} values are not under the new key"
    spot_check(path, ring)
    rate = values / seconds
    result = {
        "benchmark": "rotation",
        "values": values,
        "rows": rows,
        "seconds": round(seconds, 3),
        "values_per_s": round(rate, 1),
        "target_values_per_s": TARGET_VALUES_PER_S,
        "pass": rate >= TARGET_VALUES_PER_S,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command_output": out.getvalue().strip(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
    }
    if keep is None:
        for leftover in workdir.iterdir():
            leftover.unlink()
        workdir.rmdir()
    return result


# ------------------------------------------------------------------------------ /deleteme

DELETEME_TARGET_MS = 200.0
DEFAULT_ORDERS = 1_000_000
QUICK_ORDERS = 50_000
#: The customer who asks to be erased has this many orders, spread over the whole table.
HEAVY_ORDERS = 1_000
HEAVY_TELEGRAM_ID = 6_000_000_001
#: Every other customer has this many orders.
ORDERS_PER_CUSTOMER = 5
TECHNICIAN_COUNT = 50
DELETEME_RUNS = 5


def build_orders(path: Path, orders: int, ring: Keyring) -> dict[str, int]:
    """Create the schema and ``orders`` orders with encrypted personal fields; one heavy customer.

    Customer 1 (Telegram id ``HEAVY_TELEGRAM_ID``, stored as ``("telegram", "<id>")``) has
    ``HEAVY_ORDERS`` orders, one in every ``orders // HEAVY_ORDERS`` rows, in every status
    (mostly done; some cancelled; some still offered with a pending offer; some assigned or on
    the way), a saved profile and a half-finished booking. The others have
    ``ORDERS_PER_CUSTOMER`` orders each. Every order has a job offer; every personal value is
    encrypted with ``ring`` under its column.
    """
    url = f"sqlite+aiosqlite:///{path}"

    async def schema() -> None:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await verify_key(engine, ring)
        await engine.dispose()

    asyncio.run(schema())
    seal = ring.encrypt
    now = datetime.now(UTC).isoformat(sep=" ")
    rng = random.Random(11)
    step = orders // HEAVY_ORDERS
    heavy = set(range(step // 2 + 1, orders + 1, step)[:HEAVY_ORDERS])
    fillers = -(-(orders - len(heavy)) // ORDERS_PER_CUSTOMER)
    heavy_statuses = ["done"] * 85 + ["cancelled"] * 5 + ["offered"] * 5 + ["assigned"] * 3
    heavy_statuses += ["on_the_way"] * 2

    def customer_row(customer_id: int, telegram_id: int) -> tuple[Any, ...]:
        phone = _phone(customer_id)
        return (
            customer_id,
            str(telegram_id),
            seal(f"Customer {customer_id}".encode(), "customers.name"),
            seal(phone.encode(), "customers.phone"),
            ring.blind_index(phone),
            seal(
                f"House {customer_id % 200}, Road {customer_id % 30}".encode(), "customers.address"
            ),
            "2025-12-24",
            now,
            now,
            now,
        )

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # setup only: not what is measured
    with connection:
        connection.executemany(
            "INSERT INTO technicians (id, channel, external_id, name, phone, phone_index,"
            " services, areas, active, lang, created_at) VALUES (?, 'telegram', ?, ?, ?, ?,"
            " 'plumbing', 'all', 1, 'bn', ?)",
            [
                (
                    n,
                    str(8_000_000 + n),
                    seal(f"Technician {n}".encode(), "technicians.name"),
                    seal(_phone(900_000 + n).encode(), "technicians.phone"),
                    ring.blind_index(_phone(900_000 + n)),
                    now,
                )
                for n in range(1, TECHNICIAN_COUNT + 1)
            ],
        )
        customer_sql = (
            "INSERT INTO customers (id, channel, external_id, lang, name, phone, phone_index,"
            " address, consent_version, consent_at, created_at, updated_at)"
            " VALUES (?, 'telegram', ?, 'bn', ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        connection.execute(customer_sql, customer_row(1, HEAVY_TELEGRAM_ID))
        for start in range(0, fillers, INSERT_ROWS):
            ids = range(start + 2, min(start + INSERT_ROWS, fillers) + 2)
            connection.executemany(customer_sql, [customer_row(n, 7_000_000 + n) for n in ids])
        session = {"service": "plumbing", "area": "mirpur", "problem": "Leaking tap"}
        connection.execute(
            SESSION_SQL,
            (
                str(HEAVY_TELEGRAM_ID),
                seal(json.dumps(session).encode(), "conversation_sessions.data"),
                now,
            ),
        )
        filler_index = 0
        for start in range(1, orders + 1, INSERT_ROWS):
            order_rows, offer_rows = [], []
            for order_id in range(start, min(start + INSERT_ROWS, orders + 1)):
                if order_id in heavy:
                    customer_id = 1
                    status = heavy_statuses[order_id % len(heavy_statuses)]
                else:
                    customer_id = 2 + filler_index // ORDERS_PER_CUSTOMER
                    filler_index += 1
                    status = "done" if order_id % 50 else "cancelled"
                phone = _phone(customer_id)
                pin = order_id % 3 == 0
                other = order_id % 10 == 0

                def value(plain: str | None, column: str) -> bytes | None:
                    return None if plain is None else seal(plain.encode(), f"orders.{column}")

                technician = 1 + order_id % TECHNICIAN_COUNT
                order_rows.append(
                    (
                        order_id,
                        f"B{order_id:08d}",
                        f"draft-{order_id}",
                        customer_id,
                        "other" if other else "mirpur",
                        value("Near the old mosque" if other else None, "area_other"),
                        value(None if pin else f"House {order_id % 200}, Mirpur", "address"),
                        value(repr(23.7 + rng.random() / 10) if pin else None, "latitude"),
                        value(repr(90.35 + rng.random() / 10) if pin else None, "longitude"),
                        value(phone, "phone"),
                        value(f"Customer {customer_id}", "name"),
                        value("The kitchen tap leaks" if order_id % 2 else None, "problem"),
                        str(date(2026, 1, 1 + order_id % 28)),
                        status,
                        None if status in ("offered", "cancelled") else technician,
                        now,
                        now,
                    )
                )
                offer_status = {"offered": "pending", "cancelled": "declined"}.get(
                    status, "accepted"
                )
                offer_rows.append(
                    (
                        order_id,
                        technician,
                        offer_status,
                        str(8_000_000 + technician),
                        str(order_id),
                        now,
                    )
                )
            connection.executemany(
                "INSERT INTO orders (id, reference, draft_id, customer_id, lang, service, area,"
                " area_other, address, latitude, longitude, phone, name, problem, visit_date,"
                " visit_part, status, technician_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'bn', 'plumbing', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'evening', ?,"
                " ?, ?, ?)",
                order_rows,
            )
            connection.executemany(
                "INSERT INTO job_offers (order_id, technician_id, status, channel, chat_id,"
                " message_id, created_at) VALUES (?, ?, ?, 'telegram', ?, ?, ?)",
                offer_rows,
            )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return {
        "customers": fillers + 1,
        "orders": orders,
        "job_offers": orders,
        "technicians": TECHNICIAN_COUNT,
        "heavy_customer_orders": len(heavy),
    }


async def _erase_timed(path: Path, telegram_id: int) -> float:
    """Erase ``telegram_id`` through the production database; return erase + commit seconds."""
    db = Database.open(f"sqlite+aiosqlite:///{path}")  # as the bot opens it
    person = Address("telegram", str(telegram_id))
    try:
        async with db.read() as tx:  # the bot's connection is already open
            await tx.execute(text("SELECT count(*) FROM meta"))
        started = time.perf_counter()
        async with db.transaction() as tx:  # commits as the block ends
            erased = await erasure.erase_customer(tx, person=person)
        seconds = time.perf_counter() - started
    finally:
        await db.close()
    assert erased, "the heavy customer was not found"
    return seconds


def _check_erased(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        left = {
            "customer_rows": connection.execute(
                "SELECT count(*) FROM customers WHERE channel = 'telegram' AND external_id = ?",
                (str(HEAVY_TELEGRAM_ID),),
            ).fetchone()[0],
            "linked_orders": connection.execute(
                "SELECT count(*) FROM orders WHERE customer_id = 1"
            ).fetchone()[0],
            "session_rows": connection.execute(
                "SELECT count(*) FROM conversation_sessions"
                " WHERE channel = 'telegram' AND person_id = ?",
                (str(HEAVY_TELEGRAM_ID),),
            ).fetchone()[0],
        }
        left["open_orders_of_erased"] = connection.execute(
            "SELECT count(*) FROM orders WHERE customer_id IS NULL AND status NOT IN"
            " ('done', 'cancelled')"
        ).fetchone()[0]
        left["pending_offers_of_erased"] = connection.execute(
            "SELECT count(*) FROM job_offers JOIN orders ON orders.id = job_offers.order_id"
            " WHERE orders.customer_id IS NULL AND job_offers.status = 'pending'"
        ).fetchone()[0]
    finally:
        connection.close()
    return left


def _plans(path: Path) -> list[str]:
    """The query plans of erasure's statements on the orders and offers (index or scan)."""
    connection = sqlite3.connect(path)
    statements = (
        "UPDATE job_offers SET status = 'expired' WHERE order_id IN (SELECT id FROM orders"
        " WHERE customer_id = 1 AND status NOT IN ('done', 'cancelled')) AND status = 'pending'",
        "UPDATE orders SET status = 'cancelled' WHERE customer_id = 1 AND status NOT IN"
        " ('done', 'cancelled')",
        "UPDATE orders SET customer_id = NULL, name = NULL WHERE customer_id = 1",
        "DELETE FROM customers WHERE id = 1",
    )
    try:
        return [
            " / ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in statements
        ]
    finally:
        connection.close()


def deleteme(orders: int, runs: int, keep: Path | None) -> dict[str, Any]:
    """Build the database once, then erase the heavy customer on ``runs`` fresh copies."""
    workdir = keep or Path(tempfile.mkdtemp(prefix="mistri-deleteme-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source, copy = workdir / "deleteme.db", workdir / "run.db"
    for leftover in workdir.glob("*.db*"):
        leftover.unlink()
    ring = Keyring.from_secrets([new_secret()])
    install_keyring(ring)
    started = time.perf_counter()
    rows = build_orders(source, orders, ring)
    built_s = time.perf_counter() - started
    print(
        f"built {orders:,} orders ({rows['customers']:,} customers, one with"
        f" {rows['heavy_customer_orders']:,} orders) in {built_s:.1f} s"
        f" ({source.stat().st_size / 1e6:.0f} MB)",
        flush=True,
    )
    plans = _plans(source)
    timings = []
    for run in range(runs):
        for leftover in workdir.glob("run.db*"):
            leftover.unlink()
        shutil.copyfile(source, copy)
        seconds = asyncio.run(_erase_timed(copy, HEAVY_TELEGRAM_ID))
        left = _check_erased(copy)
        assert not any(left.values()), f"erasure left {left}"
        timings.append(seconds)
        print(f"  run {run + 1}: erase + commit {seconds * 1000:.1f} ms", flush=True)
    for leftover in workdir.glob("run.db*"):
        leftover.unlink()
    p50_ms = statistics.median(timings) * 1000
    result = {
        "benchmark": "deleteme",
        "orders": orders,
        "rows": rows,
        "build_seconds": round(built_s, 1),
        "db_mb": round(source.stat().st_size / 1e6, 1),
        "runs_ms": [round(t * 1000, 2) for t in timings],
        "p50_ms": round(p50_ms, 2),
        "max_ms": round(max(timings) * 1000, 2),
        "target_ms": DELETEME_TARGET_MS,
        "pass": p50_ms < DELETEME_TARGET_MS,
        "query_plans": plans,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
    }
    if keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


# ------------------------------------------------------------------- encryption overhead

OVERHEAD_TARGET = 0.10
OVERHEAD_USERS = 1_000
QUICK_OVERHEAD_USERS = 200
OVERHEAD_RUNS = 3


def _stub_encrypt(self: Keyring, plaintext: bytes, purpose: str) -> bytes:
    """Frame ``plaintext`` as an encrypted value would be (same layout and length), no AES."""
    _CALLS["encrypt"] += 1
    return self.current_prefix + bytes(12) + plaintext + bytes(16)


def _stub_decrypt(self: Keyring, blob: bytes, purpose: str) -> bytes:
    """Undo :func:`_stub_encrypt`."""
    _CALLS["decrypt"] += 1
    return blob[2 + blob[1] + 12 : -16]


_CALLS = {"encrypt": 0, "decrypt": 0, "blind_index": 0}
_SECONDS = {"encrypt": 0.0, "decrypt": 0.0, "blind_index": 0.0}


def _timed(name: str, function: Any) -> Any:
    """Wrap a Keyring method so its calls and time are counted."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _SECONDS[name] += time.perf_counter() - started
            _CALLS[name] += 1

    return wrapper


def overhead_child(config: dict[str, Any]) -> None:
    """Run one booking benchmark in this process, with real or stub encryption."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("app", "service", "channels"):  # as booking.py's own child
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    sys.path.insert(0, str(ROOT / "bench"))
    import booking

    if config["stub"]:
        Keyring.encrypt = _stub_encrypt  # type: ignore[method-assign]
        Keyring.decrypt = _stub_decrypt  # type: ignore[method-assign]
    else:  # the real thing, timed (two clock reads a call: well under a microsecond)
        for name in ("encrypt", "decrypt", "blind_index"):
            setattr(Keyring, name, _timed(name, getattr(Keyring, name)))
    # CPU time of the bookings alone: Run.main reads its memory just before it starts the
    # clock and just after the last booking, so the CPU time is read there too. Other work on
    # a shared machine stretches wall time, hardly this process's CPU time.
    marks: list[float] = []
    memory = booking.rss_mb

    def memory_and_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        marks.append(usage.ru_utime + usage.ru_stime)
        return float(memory())

    booking.rss_mb = memory_and_cpu
    run = {key: config[key] for key in ("system", "mode", "users", "active", "concurrency")}
    run.update(budget=config["budget"], keep_api_state=False, workdir=config["workdir"])
    result = asyncio.run(booking.Run(run).main())
    result["cpu_seconds"] = round(marks[1] - marks[0], 3)
    result["updates_per_cpu_s"] = round(result["updates"] / (marks[1] - marks[0]), 1)
    result["crypto_calls"] = dict(_CALLS)
    result["crypto_seconds"] = None if config["stub"] else dict(_SECONDS)
    Path(config["out"]).write_text(json.dumps(result))


def _overhead_run(users: int, stub: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="mistri-overhead-"))
    out = workdir / "result.json"
    config = {
        "system": "ours",
        "mode": "sequential",
        "users": users,
        "active": 1,
        "concurrency": 256,
        "budget": 3600.0,
        "workdir": str(workdir),
        "out": str(out),
        "stub": stub,
    }
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--overhead-child",
        json.dumps(config),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0 or not out.exists():
            raise RuntimeError(f"benchmark run failed:\n{completed.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not result.get("ok"):
        raise RuntimeError(f"benchmark run did not verify: {result.get('first_error')}")
    return result


def encryption_overhead(users: int, runs: int) -> dict[str, Any]:
    """Alternate real and stub encryption runs; return the medians and the throughput loss."""
    real: list[dict[str, Any]] = []
    stub: list[dict[str, Any]] = []
    for run in range(runs):
        # Alternate which goes first, so a drift of the machine hits both alike.
        order = (False, True) if run % 2 == 0 else (True, False)
        for stubbed in order:
            result = _overhead_run(users, stubbed)
            (stub if stubbed else real).append(result)
            label = "stub" if stubbed else "real"
            print(
                f"  run {run + 1} {label}: {result['updates_per_cpu_s']:,.1f} updates per CPU"
                f" second, {result['updates_per_s']:,.1f} per wall second",
                flush=True,
            )
    # Throughput per CPU second of the bookings (the verdict), and per wall second: on a shared
    # machine other processes stretch the wall time of a run by tens of percent, which would
    # drown a difference of a few. Medians of the runs of each kind.
    real_cpu = statistics.median(r["updates_per_cpu_s"] for r in real)
    stub_cpu = statistics.median(r["updates_per_cpu_s"] for r in stub)
    loss = 1 - real_cpu / stub_cpu
    real_median = statistics.median(r["updates_per_s"] for r in real)
    stub_median = statistics.median(r["updates_per_s"] for r in stub)
    calls = real[0]["crypto_calls"]
    bookings = real[0]["users_completed"]
    # Time inside encrypt/decrypt (and the blind index) as a share of the measured run.
    shares = [
        (r["crypto_seconds"]["encrypt"] + r["crypto_seconds"]["decrypt"]) / r["seconds"]
        for r in real
    ]
    index_shares = [r["crypto_seconds"]["blind_index"] / r["seconds"] for r in real]
    return {
        "benchmark": "encryption-overhead",
        "users": users,
        "runs": runs,
        "real_updates_per_s": [r["updates_per_s"] for r in real],
        "stub_updates_per_s": [r["updates_per_s"] for r in stub],
        "real_updates_per_cpu_s": [r["updates_per_cpu_s"] for r in real],
        "stub_updates_per_cpu_s": [r["updates_per_cpu_s"] for r in stub],
        "real_cpu_median": real_cpu,
        "stub_cpu_median": stub_cpu,
        "real_median": real_median,
        "stub_median": stub_median,
        "median_loss": round(1 - real_median / stub_median, 4),
        "real_p50_ms": statistics.median(r["latency"]["p50_ms"] for r in real),
        "stub_p50_ms": statistics.median(r["latency"]["p50_ms"] for r in stub),
        "loss": round(loss, 4),
        "target_loss": OVERHEAD_TARGET,
        # Both the throughput lost and the time measured inside encrypt/decrypt must be small.
        "pass": loss < OVERHEAD_TARGET and statistics.median(shares) < OVERHEAD_TARGET,
        "encrypt_decrypt_share": round(statistics.median(shares), 5),
        "blind_index_share": round(statistics.median(index_shares), 5),
        "encrypts_per_booking": round(calls["encrypt"] / bookings, 1) if bookings else None,
        "decrypts_per_booking": round(calls["decrypt"] / bookings, 1) if bookings else None,
        "blind_indexes_per_booking": round(calls["blind_index"] / bookings, 1)
        if bookings
        else None,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
    }


def _write(result: dict[str, Any], name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report = RESULTS / f"privacy-{name}-{stamp}.json"
    report.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {report.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=DEFAULT_VALUES, help="encrypted values")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"rotation: {QUICK_VALUES:,} values; --deleteme: {QUICK_ORDERS:,} orders;"
        f" --encryption-overhead: {QUICK_OVERHEAD_USERS} users",
    )
    parser.add_argument("--keep", type=Path, default=None, help="build the database here, keep it")
    parser.add_argument(
        "--deleteme", action="store_true", help="time /deleteme's erasure on a big database"
    )
    parser.add_argument(
        "--orders", type=int, default=DEFAULT_ORDERS, help="--deleteme: orders in the database"
    )
    parser.add_argument(
        "--encryption-overhead",
        action="store_true",
        help="booking throughput with real against stub encryption",
    )
    parser.add_argument(
        "--users", type=int, default=OVERHEAD_USERS, help="--encryption-overhead: bookings"
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="--deleteme / --encryption-overhead: repetitions"
    )
    parser.add_argument("--overhead-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.overhead_child:
        overhead_child(json.loads(args.overhead_child))
        return 0
    if args.deleteme and args.encryption_overhead:
        parser.error("run --deleteme and --encryption-overhead one at a time")
    if args.deleteme:
        return _main_deleteme(parser, args)
    if args.encryption_overhead:
        return _main_overhead(parser, args)

    values = QUICK_VALUES if args.quick else args.values
    if values < PER_CUSTOMER:
        parser.error(f"--values must be at least {PER_CUSTOMER}")

    result = rotation(values, args.keep)
    print(result["command_output"])
    print(
        f"rotation: {values:,} values in {result['seconds']:.2f} s = "
        f"{result['values_per_s']:,.0f} values/s (peak RSS {result['peak_rss_mb']:.0f} MB)"
    )
    verdict = "PASS" if result["pass"] else "FAIL"
    print(
        f"{verdict}: rotation {result['values_per_s']:,.0f} values/s "
        f"(target ≥ {TARGET_VALUES_PER_S:,} values/s)"
    )
    _write(result, "rotation")
    return 0 if result["pass"] else 1


def _main_deleteme(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    orders = QUICK_ORDERS if args.quick else args.orders
    if orders < 2 * HEAVY_ORDERS:
        parser.error(f"--orders must be at least {2 * HEAVY_ORDERS:,}")
    runs = args.runs or DELETEME_RUNS
    result = deleteme(orders, runs, args.keep)
    for plan in result["query_plans"]:
        print(f"  plan: {plan}")
    verdict = "PASS" if result["pass"] else "FAIL"
    print(
        f"{verdict}: /deleteme of a customer with {HEAVY_ORDERS:,} of {orders:,} orders:"
        f" erase + commit p50 {result['p50_ms']:.1f} ms over {runs} fresh copies"
        f" (max {result['max_ms']:.1f} ms; target < {DELETEME_TARGET_MS:.0f} ms)"
    )
    _write(result, "deleteme")
    return 0 if result["pass"] else 1


def _main_overhead(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    users = QUICK_OVERHEAD_USERS if args.quick else args.users
    if users < 1:
        parser.error("--users must be at least 1")
    runs = args.runs or OVERHEAD_RUNS
    result = encryption_overhead(users, runs)
    verdict = "PASS" if result["pass"] else "FAIL"
    print(
        f"  per booking: {result['encrypts_per_booking']} encryptions,"
        f" {result['decrypts_per_booking']} decryptions,"
        f" {result['blind_indexes_per_booking']} blind indexes; time inside encrypt/decrypt"
        f" {result['encrypt_decrypt_share'] * 100:.2f}% of the run"
        f" (blind index {result['blind_index_share'] * 100:.2f}%)"
    )
    print(
        f"  per wall second: {result['real_median']:,.1f} against {result['stub_median']:,.1f}"
        f" updates/s ({result['median_loss'] * 100:.1f}%; wall time is noisy on a shared"
        " machine)"
    )
    noise = " (negative: below the run-to-run noise)" if result["loss"] < 0 else ""
    print(
        f"{verdict}: encryption costs {result['loss'] * 100:.1f}% of booking throughput{noise}"
        f" ({result['real_cpu_median']:,.1f} against {result['stub_cpu_median']:,.1f} updates"
        f" per CPU second, medians of {runs}); {result['encrypt_decrypt_share'] * 100:.2f}% of"
        f" the time is spent inside encrypt/decrypt (target < {OVERHEAD_TARGET * 100:.0f}%)"
    )
    _write(result, "encryption-overhead")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
