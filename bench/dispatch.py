"""Dispatch benchmark: picking a technician on a big database, and delivering offers in time.

Three parts (``--parts``), each against its target (issue: dispatch performance):

``selection``  Builds (once, cached in ``bench/results/``) a SQLite database through the real
               migrations with T technicians (default 10,000) and O orders (default 1,000,000)
               whose personal columns are encrypted through the column types, then times
               ``storage.technicians.match`` — the production function, ranking included — for
               a few thousand random (service, area, already-tried set, pin) queries on the
               production database, in one unit of work (``Tx``). Target: p99 < 5 ms.
``delivery``   Drives the production ``service.delivery.DeliveryWorker`` over a core whose
               Telegram channel (``channels.telegram.channel.TelegramChannel``) has the bot
               ``channels/telegram/polling.build_bot`` builds, rate limiter included, against
               the in-process Bot API (``channels/telegram/fake_api/``) behind a request
               object that enforces Telegram's limits
               the strict way: a 429 with ``retry_after`` for a message beyond 30 in the last
               second overall, or beyond 1 in the last second to one chat. 1,000 offer notices
               queued with ``storage.outbox.enqueue`` to 1,000 chats, then to 100 chats.
               Targets: all delivered in ≤ 36 s, zero 429s.
``overhead``   The worker's own cost per message (outbox read, Bot API call building, the sent
               mark committed), measured with an instant fake API and no limits: < 1 ms.

    uv run python bench/dispatch.py --quick          # 1,000 technicians, 50,000 orders
    uv run python bench/dispatch.py                  # 10,000 / 1,000,000 (built once, ~50 s)
    uv run python bench/dispatch.py --parts selection --queries 5000
    uv run python bench/dispatch.py --parts delivery,overhead

See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from revision import revision  # bench/revision.py, beside this script

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the tests: no deprecation noise

ROOT = Path(__file__).resolve().parent.parent
# Runnable as a plain script from anywhere (hence the imports below it), like booking.py.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Table  # noqa: E402
from sqlalchemy.engine import Dialect  # noqa: E402
from telegram._utils.types import ODVInput  # noqa: E402
from telegram.request import BaseRequest, RequestData  # noqa: E402

from app.core import Core  # noqa: E402
from app.locks import LocalLocks  # noqa: E402
from channels.telegram.bot import MistriBot  # noqa: E402
from channels.telegram.channel import TelegramChannel  # noqa: E402
from channels.telegram.fake_api import FakeBotApi, OfflineRequest  # noqa: E402
from channels.telegram.polling import build_bot  # noqa: E402
from conversations import jobs  # noqa: E402
from conversations.catalogue import AREAS, OTHER_AREA, SERVICES  # noqa: E402
from conversations.events import Address  # noqa: E402
from conversations.outbound import to_json  # noqa: E402
from conversations.views import OrderView  # noqa: E402
from service.config import DEFAULT_BASE_URL  # noqa: E402
from service.delivery import DeliveryWorker  # noqa: E402
from storage import matching, migrate, outbox  # noqa: E402
from storage.crypto import Keyring, install_keyring, new_secret  # noqa: E402
from storage.database import Database, create_engine  # noqa: E402
from storage.keys import verify_key  # noqa: E402
from storage.models import Customer, JobOffer, Order, Technician  # noqa: E402
from storage.sessions import SessionStore  # noqa: E402
from storage.sqlite import prepared  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TOKEN = "7000000001:BENCH-offline-token-00000000000000"
#: Every person and chat of the benchmark is on Telegram.
TELEGRAM = "telegram"

#: Bumped whenever the generated data changes, so a cached database of older data is not used.
#: 2: people, chats and message ids by channel (migration 0007), written as such.
BUILD_VERSION = 2
DEFAULT_TECHNICIANS, DEFAULT_ORDERS = 10_000, 1_000_000
QUICK_TECHNICIANS, QUICK_ORDERS = 1_000, 50_000
DEFAULT_QUERIES = 3_000
SELECTION_TARGET_MS = 5.0

DELIVERY_MESSAGES = 1_000
DELIVERY_TARGET_S = 36.0
OVERHEAD_MESSAGES = 3_000
OVERHEAD_TARGET_MS = 1.0
#: Telegram's limits, as the simulated server enforces them.
TELEGRAM_PER_SECOND = 30
TELEGRAM_PER_CHAT_SECOND = 1

INSERT_ROWS = 5_000
FIRST_TECHNICIAN_CHAT = 5_000_000_000
FIRST_CUSTOMER_CHAT = 6_000_000_000
ORDERS_PER_CUSTOMER = 5
#: Orders in the most recent slice may still be under way; older ones are all finished.
RECENT_SHARE = 0.05
#: Orders in the most recent slice that have a job-offer history (older offers were not kept
#: by the bot before the dispatch rework; this is the conservative case for the queries).
OFFER_HISTORY_SHARE = 0.30
SERVICE_WEIGHTS = {
    "house-shifting": 10,
    "masonry": 10,
    "plumbing": 25,
    "electrical": 25,
    "ac-servicing": 15,
    "repairs": 15,
}
#: Inside Dhaka: where order and base pins fall.
LATITUDES, LONGITUDES = (23.70, 23.90), (90.33, 90.45)


# -------------------------------------------------------------------------------- database


class Inserter:
    """An INSERT of every column of ``table``, compiled once; values go through the types.

    The column types' own bind processors turn values into what is stored (encryption under
    the installed keyring for personal columns, SQLite's text form for dates), as the bot's
    statements would, and the rows go to SQLite with one ``executemany`` per batch.
    """

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.columns = [column.name for column in table.columns]
        self.sql = str(table.insert().compile(dialect=dialect, column_keys=self.columns))
        self._processors = [
            (index, processor)
            for index, column in enumerate(table.columns)
            if (processor := column.type.dialect_impl(dialect).bind_processor(dialect))
        ]

    def bind(self, row: Mapping[str, Any]) -> list[Any]:
        """Return ``row``'s values in column order, as the column types store them."""
        values = [row.get(name) for name in self.columns]
        for index, processor in self._processors:
            if values[index] is not None:
                values[index] = processor(values[index])
        return values


def _phone(n: int) -> str:
    return f"+8801{7 + n % 3}{n % 100_000_000:08d}"


def _pin(rng: random.Random) -> tuple[float, float]:
    return (round(rng.uniform(*LATITUDES), 6), round(rng.uniform(*LONGITUDES), 6))


@dataclass
class Roster:
    """Who can be given which job, to make the orders' technicians plausible."""

    able: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    working: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def pick(self, rng: random.Random, service: str, area: str, *, working: bool) -> int | None:
        pool = (self.working if working else self.able).get((service, area))
        return rng.choice(pool) if pool else None


def _technician_rows(count: int, now: datetime, rng: random.Random) -> Iterator[dict[str, Any]]:
    service_slugs = [service.slug for service in SERVICES]
    area_slugs = [area.slug for area in AREAS]
    for technician_id in range(1, count + 1):
        services = rng.sample(service_slugs, rng.choices((1, 2, 3), weights=(45, 35, 20))[0])
        areas = ["all"] if rng.random() < 0.05 else rng.sample(area_slugs, rng.randint(1, 5))
        state = rng.random()
        base = _pin(rng) if rng.random() < 0.30 else (None, None)
        phone = _phone(900_000_000 + technician_id)
        yield {
            "id": technician_id,
            "channel": TELEGRAM,
            "external_id": str(FIRST_TECHNICIAN_CHAT + technician_id),
            "name": f"Technician {technician_id}",
            "phone": phone,
            "phone_index": None,  # filled by the caller (blind index under the keyring)
            "services": ",".join(services),
            "areas": ",".join(areas),
            # About 10% cannot be offered anything: disabled, away, or not yet approved.
            "active": state >= 0.05,
            "available": not 0.05 <= state < 0.09,
            "status": "pending" if 0.09 <= state < 0.10 else "approved",
            "base_latitude": base[0],
            "base_longitude": base[1],
            "lang": "en" if rng.random() < 0.15 else "bn",
            "created_at": now - timedelta(days=rng.uniform(30, 900)),
        }


def build(path: Path, technician_count: int, order_count: int, ring: Keyring) -> dict[str, Any]:
    """Create the schema through the migrations and fill it; return row counts."""
    url = f"sqlite+aiosqlite:///{path}"

    async def schema() -> Dialect:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await verify_key(engine, ring)
        await engine.dispose()
        return engine.dialect

    dialect = asyncio.run(schema())
    rng = random.Random(20261124)
    now = datetime.now(UTC).replace(microsecond=0)
    tables = {
        model.__tablename__: Inserter(model.__table__, dialect)  # type: ignore[attr-defined]
        for model in (Technician, Customer, Order, JobOffer)
    }
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")  # setup only: not what is measured
    connection.execute("PRAGMA cache_size=-200000")
    counts = {"technicians": 0, "customers": 0, "orders": 0, "job_offers": 0}
    roster = Roster()
    area_slugs = [area.slug for area in AREAS]
    with connection:
        rows = []
        for row in _technician_rows(technician_count, now, rng):
            row["phone_index"] = ring.blind_index(row["phone"])
            rows.append(tables["technicians"].bind(row))
            eligible = row["active"] and row["available"] and row["status"] == "approved"
            all_areas = row["areas"] == "all"
            covered = [*area_slugs, OTHER_AREA] if all_areas else row["areas"].split(",")
            for service in row["services"].split(","):
                for area in covered:
                    roster.able.setdefault((service, area), []).append(row["id"])
                    if eligible:
                        roster.working.setdefault((service, area), []).append(row["id"])
        connection.executemany(tables["technicians"].sql, rows)
        counts["technicians"] = len(rows)
        customer_count = -(-order_count // ORDERS_PER_CUSTOMER)
        for start in range(1, customer_count + 1, INSERT_ROWS):
            rows = []
            for customer_id in range(start, min(start + INSERT_ROWS, customer_count + 1)):
                phone = _phone(customer_id)
                rows.append(
                    tables["customers"].bind(
                        {
                            "id": customer_id,
                            "channel": TELEGRAM,
                            "external_id": str(FIRST_CUSTOMER_CHAT + customer_id),
                            "lang": "bn",
                            "name": f"Customer {customer_id}",
                            "phone": phone,
                            "phone_index": ring.blind_index(phone),
                            "address": f"House {customer_id % 200}, Road {customer_id % 30}",
                            "consent_version": "2025-12-24",
                            "consent_at": now,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                )
            connection.executemany(tables["customers"].sql, rows)
        counts["customers"] = customer_count
        counts |= _fill_orders(connection, tables, roster, order_count, now, rng)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return counts


def _fill_orders(
    connection: sqlite3.Connection,
    tables: dict[str, Inserter],
    roster: Roster,
    order_count: int,
    now: datetime,
    rng: random.Random,
) -> dict[str, int]:
    """Insert the orders (two years of them, oldest first) and their job-offer history."""
    services, weights = list(SERVICE_WEIGHTS), list(SERVICE_WEIGHTS.values())
    area_slugs = [area.slug for area in AREAS]
    recent_from = order_count - int(order_count * RECENT_SHARE)
    history_from = order_count - int(order_count * OFFER_HISTORY_SHARE)
    recent_statuses = ("done", "cancelled", "assigned", "on_the_way", "offered", "unassigned")
    recent_weights = (40, 5, 35, 10, 7, 3)
    span = timedelta(days=730)
    statuses: dict[str, int] = {}
    offers = 0
    offer_id = 0
    for start in range(0, order_count, INSERT_ROWS):
        order_rows, offer_rows = [], []
        for index in range(start, min(start + INSERT_ROWS, order_count)):
            order_id = index + 1
            service = rng.choices(services, weights)[0]
            area = OTHER_AREA if rng.random() < 0.03 else rng.choice(area_slugs)
            if index >= recent_from:
                status = rng.choices(recent_statuses, recent_weights)[0]
            else:
                status = "done" if rng.random() < 0.92 else "cancelled"
            created = now - span * (1 - index / order_count) - timedelta(hours=2)
            working = status in ("assigned", "on_the_way")
            technician_id = None
            if status in ("done", "assigned", "on_the_way") or (
                status == "cancelled" and rng.random() < 0.5
            ):
                technician_id = roster.pick(rng, service, area, working=working)
                if technician_id is None:
                    status = "unassigned"
            statuses[status] = statuses.get(status, 0) + 1
            customer_id = 1 + index // ORDERS_PER_CUSTOMER
            pinned = rng.random() < 0.25
            pin = _pin(rng) if pinned else (None, None)
            rating = None
            if status == "done" and rng.random() < 0.6:
                rating = rng.choice((3, 4, 4, 5, 5, 5))
            order_rows.append(
                tables["orders"].bind(
                    {
                        "id": order_id,
                        "reference": f"B{order_id:08d}",
                        "draft_id": f"bench-{order_id}",
                        "customer_id": customer_id,
                        "lang": "bn",
                        "service": service,
                        "area": area,
                        "area_other": "Near the old mosque" if area == OTHER_AREA else None,
                        "address": None if pinned else f"House {order_id % 200}, Road 5",
                        "latitude": pin[0],
                        "longitude": pin[1],
                        "phone": _phone(customer_id),
                        "name": f"Customer {customer_id}",
                        "problem": "The kitchen tap leaks" if rng.random() < 0.5 else None,
                        "visit_date": (created + timedelta(days=1)).date(),
                        "visit_part": rng.choice(("morning", "afternoon", "evening")),
                        "status": status,
                        "technician_id": technician_id,
                        "rating": rating,
                        "rating_comment": "Good work" if rating and rng.random() < 0.1 else None,
                        "cancel_reason": "customer" if status == "cancelled" else None,
                        "created_at": created,
                        "updated_at": created + timedelta(hours=1),
                    }
                )
            )
            if index < history_from:
                continue
            # Declined or silent technicians before the one who took it (or none did).
            tried = rng.choices((0, 1, 2), weights=(75, 18, 7))[0]
            if status == "unassigned":
                tried = rng.randint(1, 3)
            elif status == "cancelled" and technician_id is None:
                tried = rng.choice((0, 1))
            history: list[tuple[int, str]] = []
            for _ in range(tried):
                other = roster.pick(rng, service, area, working=False)
                if other is not None:
                    history.append((other, rng.choice(("declined", "expired"))))
            if technician_id is not None:
                history.append((technician_id, "accepted"))
            elif status == "offered":
                pending = roster.pick(rng, service, area, working=True)
                if pending is not None:
                    history.append((pending, "pending"))
            for step, (offered_to, offer_status) in enumerate(history):
                offer_id += 1
                offered_at = created + timedelta(minutes=1 + 10 * step)
                offer_rows.append(
                    tables["job_offers"].bind(
                        {
                            "id": offer_id,
                            "order_id": order_id,
                            "technician_id": offered_to,
                            "status": offer_status,
                            "channel": TELEGRAM,
                            "chat_id": str(FIRST_TECHNICIAN_CHAT + offered_to),
                            "message_id": str(1_000 + offer_id),
                            "created_at": offered_at,
                            "expires_at": offered_at + timedelta(minutes=10),
                            "answered_at": None
                            if offer_status == "pending"
                            else offered_at + timedelta(minutes=3),
                        }
                    )
                )
        connection.executemany(tables["orders"].sql, order_rows)
        connection.executemany(tables["job_offers"].sql, offer_rows)
        offers += len(offer_rows)
    return {"orders": order_count, "job_offers": offers} | {
        f"orders_{name}": count for name, count in sorted(statuses.items())
    }


def database(technician_count: int, order_count: int, rebuild: bool) -> tuple[Path, Keyring]:
    """Return the cached database of these sizes (built now if missing) and its keyring."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"dispatch-v{BUILD_VERSION}-t{technician_count}-o{order_count}.db"
    key = path.with_name(path.name + ".key")
    if rebuild or not (path.exists() and key.exists()):
        for stale in (path, key, *path.parent.glob(path.name + "-*")):
            stale.unlink(missing_ok=True)
        secret = new_secret()
        ring = Keyring.from_secrets([secret])
        install_keyring(ring)
        building = path.with_name(path.name + ".building")
        for stale in building.parent.glob(building.name + "*"):
            stale.unlink()
        print(
            f"building {technician_count:,} technicians and {order_count:,} orders"
            f" into {path.relative_to(ROOT)} …",
            file=sys.stderr,
            flush=True,
        )
        started = time.perf_counter()
        counts = build(building, technician_count, order_count, ring)
        took = time.perf_counter() - started
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secret + "\n")
        building.rename(path)  # only a complete database is ever cached
        (path.with_name(path.name + ".json")).write_text(
            json.dumps({"build_seconds": round(took, 1), **counts}, indent=1)
        )
        print(
            f"built in {took:.0f} s ({path.stat().st_size / 1e6:.0f} MB): {counts}",
            file=sys.stderr,
        )
    ring = Keyring.from_secrets([key.read_text().strip()])
    install_keyring(ring)
    return path, ring


# ----------------------------------------------------------------------- candidate selection


@dataclass(frozen=True)
class Query:
    """One call of ``matching.match``: what an order needs and who was tried already."""

    service: str
    area: str
    exclude: frozenset[int]
    pin: tuple[float, float] | None


def _queries(path: Path, count: int, seed: int) -> tuple[list[Query], list[int]]:
    """Random queries, and how many technicians each could go to (for the report)."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT id, services, areas FROM technicians"
            " WHERE active AND available AND status = 'approved'"
        ).fetchall()
    finally:
        connection.close()
    rng = random.Random(seed)
    services, weights = list(SERVICE_WEIGHTS), list(SERVICE_WEIGHTS.values())
    area_slugs = [area.slug for area in AREAS]
    queries, candidates = [], []
    for _ in range(count):
        service = rng.choices(services, weights)[0]
        area = OTHER_AREA if rng.random() < 0.03 else rng.choice(area_slugs)
        able = [
            technician_id
            for technician_id, offered, covered in rows
            if service in offered.split(",")
            and ("all" in covered.split(",") or area in covered.split(","))
        ]
        # An order's first offer mostly; sometimes after one or a few declines or silences.
        tried = rng.choices((0, 1, 2, 3), weights=(70, 15, 10, 5))[0]
        exclude = frozenset(rng.sample(able, min(tried, len(able))))
        pin = _pin(rng) if rng.random() < 0.3 else None
        queries.append(Query(service, area, exclude, pin))
        candidates.append(len(able) - len(exclude))
    return queries, candidates


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def selection(path: Path, count: int, seed: int) -> dict[str, Any]:
    """Time ``matching.match`` for ``count`` random queries on the production database."""
    queries, candidates = _queries(path, count, seed)
    db = Database.open(f"sqlite+aiosqlite:///{path}")  # as the bot opens it
    await migrate.upgrade(db.engine)  # a database cached before a new migration gets it now
    statements: list[tuple[str, Any]] = []

    def capture(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not BEGIN, COMMIT and the like
            statements.append((statement, ()))

    timings: list[float] = []
    picked = 0
    try:
        # The bot's one connection, already open, in a unit of work as offering a job runs
        # it (app.offers.offer_next): its statements take the path the bot's take (Tx.rows
        # on SQLite's own handle where they can, SQLAlchemy where they cannot).
        async with db.transaction() as tx:
            started = time.perf_counter()
            await matching.match(tx, service="plumbing", area="mirpur")
            first_ms = (time.perf_counter() - started) * 1000
            for query in queries[:100]:  # warm-up: compiled-statement cache, page cache
                await matching.match(
                    tx,
                    service=query.service,
                    area=query.area,
                    exclude=query.exclude,
                    pin=query.pin,
                )
            for query in queries:
                started = time.perf_counter()
                technician = await matching.match(
                    tx,
                    service=query.service,
                    area=query.area,
                    exclude=query.exclude,
                    pin=query.pin,
                )
                timings.append(time.perf_counter() - started)
                picked += technician is not None
            # The statements of one typical call (a plumber in Mirpur, with a pin), for plans.
            # SQLite's own trace: it sees the statements run through storage.sqlite.prepared
            # (Tx.rows) too.
            handle = prepared.handle_of(tx.conn)
            assert handle is not None
            handle.set_trace_callback(capture)
            await matching.match(tx, service="plumbing", area="mirpur", pin=(23.8, 90.36))
            handle.set_trace_callback(None)
    finally:
        await db.close()
    ms = [t * 1000 for t in timings]
    p50, p99 = _percentile(ms, 0.50), _percentile(ms, 0.99)
    return {
        "part": "selection",
        "queries": count,
        "first_call_ms": round(first_ms, 2),
        "p50_ms": round(p50, 3),
        "p90_ms": round(_percentile(ms, 0.90), 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "candidates_mean": round(statistics.fmean(candidates), 1),
        "candidates_max": max(candidates),
        "found": picked,
        "target_ms": SELECTION_TARGET_MS,
        "pass": p99 < SELECTION_TARGET_MS,
        "statements": [statement for statement, _ in statements],
        "query_plans": _plans(path, statements),
    }


def _plans(path: Path, statements: list[tuple[str, Any]]) -> list[list[str]]:
    """SQLite's plan for each captured statement (index searches or scans)."""
    connection = sqlite3.connect(path)
    try:
        return [
            [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)]
            for sql, parameters in statements
        ]
    finally:
        connection.close()


# ---------------------------------------------------------------------------------- delivery

#: Bot API methods Telegram's flood control counts: what puts or changes a message in a chat.
_COUNTED = ("send", "edit", "copy", "forward")


class LimitedRequest(OfflineRequest):
    """The offline Bot API behind Telegram's flood control, enforced strictly.

    A message is refused with ``429 Too Many Requests`` and a ``retry_after`` when
    ``per_second`` messages were already accepted in the last second (any chat), or
    ``per_chat_second`` in the last second to the same chat. Refused calls are counted and do
    not count towards the windows. Times are taken as the call reaches the server.
    """

    def __init__(
        self,
        api: FakeBotApi,
        *,
        per_second: int | None = TELEGRAM_PER_SECOND,
        per_chat_second: int | None = TELEGRAM_PER_CHAT_SECOND,
    ) -> None:
        super().__init__(api)
        self.per_second = per_second
        self.per_chat_second = per_chat_second
        self.accepted: deque[float] = deque()
        self.by_chat: dict[int, deque[float]] = {}
        self.too_many = 0
        self.sent = 0
        self.sent_to: Counter[int] = Counter()
        #: Seconds spent inside the fake server (what a real Bot API call would replace).
        self.in_api = 0.0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def _refusal(self, chat_id: int, now: float) -> int | None:
        """Seconds to wait when this message would break a limit; None when it may go."""
        horizon = now - 1.0
        window = self.accepted
        while window and window[0] <= horizon:
            window.popleft()
        chat = self.by_chat.setdefault(chat_id, deque())
        while chat and chat[0] <= horizon:
            chat.popleft()
        waits = []
        if self.per_second is not None and len(window) >= self.per_second:
            waits.append(window[0] + 1.0 - now)
        if self.per_chat_second is not None and len(chat) >= self.per_chat_second:
            waits.append(chat[0] + 1.0 - now)
        # Telegram names whole seconds, at least one.
        return max(1, math.ceil(max(waits))) if waits else None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        api_method = url.rsplit("/", 1)[-1]
        parameters = request_data.parameters if request_data is not None else {}
        if api_method.startswith(_COUNTED) and "chat_id" in parameters:
            now = time.monotonic()
            chat_id = int(parameters["chat_id"])  # type: ignore[arg-type]
            wait = self._refusal(chat_id, now)
            if wait is not None:
                self.too_many += 1
                body = {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                }
                self.in_api += time.perf_counter() - started
                return 429, json.dumps(body).encode()
            self.accepted.append(now)
            self.by_chat[chat_id].append(now)
            self.sent += 1
            self.sent_to[chat_id] += 1
            self.first_at = now if self.first_at is None else self.first_at
            self.last_at = now
        answer = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        self.in_api += time.perf_counter() - started
        return answer


async def _offers_database(path: Path, chats: int, messages: int, seed: int) -> Database:
    """A fresh database with ``messages`` orders, each offered to one of ``chats`` technicians.

    Returns the production database on it (as the bot opens it: its engine, and the dedicated
    connection small writes such as a notice's sent mark take), the keyring installed. The
    notices are not queued.
    """
    ring = Keyring.from_secrets([new_secret()])
    install_keyring(ring)
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db.engine)
    await verify_key(db.engine, ring)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    tables = {
        model.__tablename__: Inserter(model.__table__, db.engine.dialect)  # type: ignore[attr-defined]
        for model in (Technician, Order, JobOffer)
    }
    technician_rows = list(_technician_rows(chats, now, rng))
    for row in technician_rows:
        row |= {"services": "plumbing", "areas": "all", "active": True, "available": True}
        row |= {"status": "approved", "phone_index": ring.blind_index(row["phone"])}
    order_rows, offer_rows = [], []
    for order_id in range(1, messages + 1):
        # 1,000 chats: one offer each; fewer: offers fall on them at random, as orders come.
        technician_id = order_id if chats == messages else rng.randint(1, chats)
        order_rows.append(
            {
                "id": order_id,
                "reference": f"B{order_id:08d}",
                "draft_id": f"bench-{order_id}",
                "lang": "bn",
                "service": "plumbing",
                "area": rng.choice(AREAS).slug,
                "phone": _phone(order_id),
                "name": f"Customer {order_id}",
                "address": "House 12, Road 5",
                "problem": "The kitchen tap leaks",
                "visit_date": date.today() + timedelta(days=1),
                "visit_part": "evening",
                "status": "offered",
                "created_at": now,
                "updated_at": now,
            }
        )
        offer_rows.append(
            {
                "id": order_id,
                "order_id": order_id,
                "technician_id": technician_id,
                "status": "pending",
                "channel": TELEGRAM,
                "chat_id": str(FIRST_TECHNICIAN_CHAT + technician_id),
                "created_at": now,
                "expires_at": now + timedelta(minutes=10),
            }
        )
    connection = sqlite3.connect(path)
    with connection:
        for name, rows in (
            ("technicians", technician_rows),
            ("orders", order_rows),
            ("job_offers", offer_rows),
        ):
            connection.executemany(tables[name].sql, [tables[name].bind(row) for row in rows])
    connection.close()
    return db


async def _enqueue(db: Database, path: Path) -> float:
    """Queue every pending offer's notice as the dispatcher does; return seconds per notice."""
    connection = sqlite3.connect(path)
    offers = connection.execute(
        "SELECT job_offers.id, job_offers.chat_id, orders.id, orders.reference, orders.area"
        " FROM job_offers JOIN orders ON orders.id = job_offers.order_id ORDER BY job_offers.id"
    ).fetchall()
    connection.close()
    now = datetime.now(UTC)
    spent = 0.0
    for offer_id, chat_id, order_id, reference, area in offers:
        view = OrderView(
            order_id=order_id,
            reference=reference,
            lang="bn",
            service="plumbing",
            area=area,
            area_other=None,
            problem="The kitchen tap leaks",
            visit_date=date.today() + timedelta(days=1),
            visit_part="evening",
            status="offered",
            created_at=now,
        )
        notice = jobs.job_notice("bn", view, offer_id)
        async with db.transaction() as tx:  # one offer, one transaction, as in the bot
            started = time.perf_counter()
            await outbox.enqueue(
                tx,
                to=Address(TELEGRAM, chat_id),
                kind="offer",
                body=to_json(notice),
                offer_id=offer_id,
                order_id=order_id,
            )
            spent += time.perf_counter() - started
    return spent / len(offers)


@dataclass
class Relay:
    """The delivery worker as ``service.runtime.start`` builds it, on a database of offers.

    The core holds the database, sessions and the Telegram channel over ``bot``; the worker
    sends through that channel. A notice the worker gives up on makes the core offer the
    order to the next technician (``app.offers.offer_lapsed``): a run with any is a failure.
    """

    db: Database
    bot: MistriBot
    sessions: SessionStore
    worker: DeliveryWorker

    @classmethod
    def build(
        cls, db: Database, request: BaseRequest, *, rate_limit: bool, per_chat_interval: float
    ) -> Relay:
        bot = build_bot(TOKEN, DEFAULT_BASE_URL, request=request, rate_limit=rate_limit)
        sessions = SessionStore(db)
        core = Core(
            db=db,
            sessions=sessions,
            channels={TELEGRAM: TelegramChannel(bot)},
            lock=LocalLocks(),
        )
        worker = DeliveryWorker(core, per_chat_interval=per_chat_interval)
        core.wake_outbox = worker.wake
        return cls(db, bot, sessions, worker)

    async def close(self) -> None:
        await self.worker.close()
        await self.sessions.close()
        await self.bot.shutdown()
        await self.db.close()


def _outcome(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        return dict(connection.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
    finally:
        connection.close()


async def delivery(chats: int, messages: int, workdir: Path, seed: int) -> dict[str, Any]:
    """Queue ``messages`` offers to ``chats`` chats and let the worker send them at the limit."""
    path = workdir / f"delivery-{chats}.db"
    db = await _offers_database(path, chats, messages, seed)
    request = LimitedRequest(FakeBotApi(record_calls=False))
    # As service.runtime.start builds them against Telegram: the bot with the rate limiter
    # channels/telegram/polling.py configures, and the worker with the per-chat interval.
    relay = Relay.build(db, request, rate_limit=True, per_chat_interval=1.0)
    bot, worker = relay.bot, relay.worker
    try:
        await bot.initialize()
        enqueue_s = await _enqueue(db, path)
        started = time.monotonic()
        worker.start()
        worker.wake()
        deadline = started + max(180.0, 4 * messages / TELEGRAM_PER_SECOND)
        # The worker has no "all sent" event; 10 ms polls are far below the figures' scale.
        while worker.sent + worker.failed < messages and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
    finally:
        await relay.close()
    outcome = _outcome(path)
    per_chat = list(request.sent_to.values())
    delivered = outcome.get("sent", 0)
    ok = (
        delivered == messages
        and worker.failed == 0
        and request.too_many == 0
        and elapsed <= DELIVERY_TARGET_S
    )
    return {
        "part": "delivery",
        "chats": chats,
        "messages": messages,
        "delivered": delivered,
        "outbox": outcome,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(delivered / elapsed, 2) if elapsed else None,
        "first_send_s": round(request.first_at - started, 3) if request.first_at else None,
        "last_send_s": round(request.last_at - started, 3) if request.last_at else None,
        "too_many_requests": request.too_many,
        "worker_retried": worker.retried,
        "worker_failed": worker.failed,
        "most_per_chat": max(per_chat) if per_chat else 0,
        "enqueue_ms": round(enqueue_s * 1000, 3),
        "target_s": DELIVERY_TARGET_S,
        "pass": ok,
    }


async def overhead(messages: int, workdir: Path, seed: int) -> dict[str, Any]:
    """The worker's own time per message: instant fake API, no rate limits, one per chat."""
    path = workdir / "overhead.db"
    db = await _offers_database(path, messages, messages, seed)
    request = LimitedRequest(FakeBotApi(record_calls=False), per_second=None, per_chat_second=None)
    relay = Relay.build(db, request, rate_limit=False, per_chat_interval=0.0)
    bot, worker = relay.bot, relay.worker
    try:
        await bot.initialize()
        enqueue_s = await _enqueue(db, path)
        request.in_api = 0.0
        cpu = time.process_time()
        started = time.perf_counter()
        await worker.drain()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        await relay.close()
    delivered = _outcome(path).get("sent", 0)
    outside_ms = (wall - request.in_api) / messages * 1000
    return {
        "part": "overhead",
        "messages": messages,
        "delivered": delivered,
        "wall_ms_per_message": round(wall / messages * 1000, 3),
        "cpu_ms_per_message": round(cpu / messages * 1000, 3),
        "fake_api_ms_per_message": round(request.in_api / messages * 1000, 3),
        "worker_ms_per_message": round(outside_ms, 3),
        "enqueue_ms": round(enqueue_s * 1000, 3),
        "target_ms": OVERHEAD_TARGET_MS,
        "worker_failed": worker.failed,
        "pass": delivered == messages and worker.failed == 0 and outside_ms < OVERHEAD_TARGET_MS,
    }


# ---------------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    import telegram

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "python_telegram_bot": telegram.__version__,
        "sqlite": sqlite3.sqlite_version,
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def verdicts(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(PASS/FAIL, target, detail) for every part that ran."""
    lines = []
    for r in results:
        verdict = "PASS" if r["pass"] else "FAIL"
        if r["part"] == "selection":
            lines.append(
                (
                    verdict,
                    f"candidate selection p99 < {r['target_ms']:g} ms",
                    f"p99 {r['p99_ms']} ms, p50 {r['p50_ms']} ms over {r['queries']:,} queries"
                    f" ({r['candidates_mean']} eligible technicians on average)",
                )
            )
        elif r["part"] == "delivery":
            lines.append(
                (
                    verdict,
                    f"{r['messages']:,} offers to {r['chats']:,} chats in ≤ {r['target_s']:g} s,"
                    " no 429",
                    f"{r['delivered']:,} delivered in {r['seconds']} s"
                    f" ({r['messages_per_s']} msg/s), {r['too_many_requests']} × 429",
                )
            )
        else:
            lines.append(
                (
                    verdict,
                    f"relay overhead < {r['target_ms']:g} ms per message",
                    f"{r['worker_ms_per_message']} ms outside the fake API"
                    f" ({r['wall_ms_per_message']} ms wall, {r['cpu_ms_per_message']} ms CPU,"
                    f" fake API {r['fake_api_ms_per_message']} ms)",
                )
            )
    return lines


def report(run: dict[str, Any]) -> None:
    m = run["machine"]
    print(
        f"\nmachine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']},"
        f" python-telegram-bot {m['python_telegram_bot']}, SQLite {m['sqlite']},"
        f" load {m['load_average']}"
    )
    print(f"command: {run['command']}\nrevision: {run['revision']}, started {run['started']}")
    for r in run["results"]:
        if r["part"] == "selection":
            print(
                f"\n| selection | queries | first call ms | p50 ms | p90 ms | p99 ms | max ms |"
                f" eligible (mean / max) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
                f"| {run['database']['technicians']:,} technicians,"
                f" {run['database']['orders']:,} orders | {r['queries']:,} |"
                f" {r['first_call_ms']} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} |"
                f" {r['max_ms']} | {r['candidates_mean']} / {r['candidates_max']} |"
            )
            for statement, plan in zip(r["statements"], r["query_plans"], strict=True):
                print(f"  plan of {statement.split()[0]} …: " + " / ".join(plan))
    deliveries = [r for r in run["results"] if r["part"] == "delivery"]
    if deliveries:
        print(
            "\n| delivery | chats | delivered | seconds | msg/s | first send s | last send s"
            " | 429s | most to one chat | enqueue ms |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
        for r in deliveries:
            print(
                f"| {r['messages']:,} offers | {r['chats']:,} | {r['delivered']:,} |"
                f" {r['seconds']} | {r['messages_per_s']} | {r['first_send_s']} |"
                f" {r['last_send_s']} | {r['too_many_requests']} | {r['most_per_chat']} |"
                f" {r['enqueue_ms']} |"
            )
    for r in run["results"]:
        if r["part"] == "overhead":
            print(
                "\n| relay overhead | messages | wall ms/msg | CPU ms/msg | fake API ms/msg"
                " | worker ms/msg |\n|---|---:|---:|---:|---:|---:|\n"
                f"| instant API, no limits | {r['messages']:,} | {r['wall_ms_per_message']} |"
                f" {r['cpu_ms_per_message']} | {r['fake_api_ms_per_message']} |"
                f" {r['worker_ms_per_message']} |"
            )
    print()
    for verdict, name, detail in verdicts(run["results"]):
        print(f"{verdict}  {name}: {detail}")


PARTS = ("selection", "delivery", "overhead")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--technicians", type=int, default=DEFAULT_TECHNICIANS)
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TECHNICIANS:,} technicians and {QUICK_ORDERS:,} orders",
    )
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES)
    parser.add_argument("--parts", default=",".join(PARTS), help="selection,delivery,overhead")
    parser.add_argument(
        "--chats",
        default="1000,100",
        help="delivery scenarios: how many chats the offers go to (comma-separated)",
    )
    parser.add_argument("--messages", type=int, default=DELIVERY_MESSAGES)
    parser.add_argument("--overhead-messages", type=int, default=OVERHEAD_MESSAGES)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument("--report", nargs="+", metavar="JSON", help="print earlier results")
    args = parser.parse_args(argv)
    if args.report:
        for name in args.report:
            report(json.loads(Path(name).read_text()))
        return 0
    parts = [part for part in args.parts.split(",") if part]
    for part in parts:
        if part not in PARTS:
            parser.error(f"unknown part {part!r}")
    if args.quick:
        args.technicians, args.orders = QUICK_TECHNICIANS, QUICK_ORDERS
    run: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "uv run python bench/dispatch.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "revision": revision(),
        "database": {"technicians": args.technicians, "orders": args.orders},
        "results": [],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"dispatch-{datetime.now():%Y%m%d-%H%M%S}.json"
    if "selection" in parts:
        path, _ = database(args.technicians, args.orders, args.rebuild)
        built = path.with_name(path.name + ".json")
        if built.exists():
            run["database"] |= json.loads(built.read_text())
        run["database"]["mb"] = round(path.stat().st_size / 1e6)
        print(f"selection: {args.queries:,} queries …", file=sys.stderr, flush=True)
        run["results"].append(asyncio.run(selection(path, args.queries, args.seed)))
        out.write_text(json.dumps(run, indent=1))
    with tempfile.TemporaryDirectory(prefix="mistri-dispatch-") as workdir:
        if "delivery" in parts:
            for chats in (int(c) for c in args.chats.split(",") if c):
                print(f"delivery: {args.messages:,} offers to {chats:,} chats …", file=sys.stderr)
                result = asyncio.run(delivery(chats, args.messages, Path(workdir), args.seed))
                run["results"].append(result)
                out.write_text(json.dumps(run, indent=1))
        if "overhead" in parts:
            print(f"overhead: {args.overhead_messages:,} messages …", file=sys.stderr)
            result = asyncio.run(overhead(args.overhead_messages, Path(workdir), args.seed))
            run["results"].append(result)
    run["rss_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out.write_text(json.dumps(run, indent=1))
    report(run)
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 0 if all(r["pass"] for r in run["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
