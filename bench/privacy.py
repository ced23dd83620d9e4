"""Privacy benchmarks. Key rotation: how fast ``mistri-bot keys rotate`` re-encrypts data.

Builds a SQLite database holding N encrypted values (default 1,000,000) spread over the tables
as the bot fills them (per customer: a profile with 5 values and a phone index, 2 orders with
7 values each, 1 conversation session), under a key in a key file beside it. Then runs the
rotation exactly as the command does (``bot.rotate.rotate_keys``, key file case: a new key is
generated, every value re-encrypted, every blind index recomputed, the old key dropped),
checks the result, and prints the rate against the target of 20,000 values/s.

    uv run python bench/privacy.py --quick          # 50,000 values
    uv run python bench/privacy.py                  # 1,000,000 values
    uv run python bench/privacy.py --values 200000 --keep /tmp/rotation-bench

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
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Runnable as a plain script from anywhere (hence the imports below it), like booking.py.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.rotate import rotate_keys  # noqa: E402
from storage import migrate  # noqa: E402
from storage.crypto import Keyring, new_secret  # noqa: E402
from storage.engine import create_engine  # noqa: E402
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
                        7_000_000 + n,
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
                session_rows.append((7_000_000 + n, _session(n, ring), now))
            connection.executemany(
                "INSERT INTO customers (id, telegram_id, lang, name, phone, phone_index, address,"
                " latitude, longitude, created_at, updated_at)"
                " VALUES (?, ?, 'bn', ?, ?, ?, ?, ?, ?, ?, ?)",
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
            connection.executemany(
                "INSERT INTO conversation_sessions (user_id, lang, flow, step, data, updated_at)"
                " VALUES (?, 'bn', 'booking', 'phone', ?, ?)",
                session_rows,
            )
        connection.executemany(
            "INSERT INTO conversation_sessions (user_id, lang, flow, step, data, updated_at)"
            " VALUES (?, 'bn', 'booking', 'phone', ?, ?)",
            [(9_000_000 + n, _session(n, ring), now) for n in range(extra_sessions)],
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=DEFAULT_VALUES, help="encrypted values")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_VALUES:,} values")
    parser.add_argument("--keep", type=Path, default=None, help="build the database here, keep it")
    args = parser.parse_args()
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report = RESULTS / f"privacy-rotation-{stamp}.json"
    report.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {report.relative_to(ROOT)}")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
