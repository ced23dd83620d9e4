"""Kill benchmark: N ``serve`` workers on one PostgreSQL, C customers, workers SIGKILLed at random.

The harness of ``tests/service/test_workers_kill.py`` (``tests/service/kill_harness.py``) at
scale: N worker processes (``serve``'s app, offline mode, Telegram and WhatsApp), the fake Bot
API and the fake Graph API over loopback HTTP, C customers (half Telegram, half WhatsApp) each
booking once through webhooks spread over the workers in turn, and a worker SIGKILLed every
0.5-2 s and started again on its port, for the whole run. Printed: bookings completed,
references unique, answers twice / unexpected / missing / lost, offer notices per order, kills,
time. ``--check-notices`` fails on an order offered twice (once the outbox is claimed across
workers).

    python3 tools/uv.py run python bench/kill.py --customers 1000 --workers 3
    (PostgreSQL: MISTRI_BENCH_POSTGRES_URL, else tools/pg.sh's cluster)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import scale  # bench/scale.py: the run's database  # noqa: E402

DATA_KEY = "bench-kill-secret-0123456789abcdef0123456789"


def main(argv: list[str] | None = None) -> int:
    """Run the harness once and print its figures; exit 1 when a check failed."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from tests.service.kill_harness import KillConfig, run_kill

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-min", type=float, default=0.5)
    parser.add_argument("--kill-max", type=float, default=2.0)
    parser.add_argument("--no-kills", action="store_true", help="the same run, nobody killed")
    parser.add_argument("--think-max", type=float, default=0.5, help="a customer's pause, s")
    parser.add_argument("--lease", type=float, default=None, help="inbox lease, s (serve's: 30)")
    parser.add_argument("--check-notices", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    cluster = scale.postgres_url()
    name = f"mistri_bench_kill_{os.getpid()}"
    url = scale.fresh_database(cluster, name)
    logs = Path(tempfile.mkdtemp(prefix="mistri-kill-"))
    try:
        asyncio.run(_migrate(url))
        config = KillConfig(
            database_url=url,
            data_key=DATA_KEY,
            workers=args.workers,
            customers=args.customers,
            kill_every=None if args.no_kills else (args.kill_min, args.kill_max),
            think=(0.0, args.think_max),
            lease_s=args.lease,
            check_notices=args.check_notices,
            seed=args.seed,
            step_deadline=max(120.0, 4 * (args.lease or 30.0)),
            logs=logs,
        )
        report = asyncio.run(run_kill(config, progress=lambda line: print(line, file=sys.stderr)))
    finally:
        scale.drop_database(cluster, name)
    summary = report.summary()
    summary["offers_per_order"] = dict(Counter(report.offers.values()))
    summary["worker_logs"] = str(logs)
    print(json.dumps(summary, indent=1))
    return 0 if not report.findings and report.completed == report.customers else 1


async def _migrate(url: str) -> None:
    from storage import migrate
    from storage.crypto import DataKey, Keyring, install_keyring
    from storage.database import Database

    install_keyring(Keyring(DataKey.from_secret(DATA_KEY)))
    database = Database.open(url)
    try:
        await migrate.upgrade(database.engine)
    finally:
        await database.close()


if __name__ == "__main__":
    sys.exit(main())
