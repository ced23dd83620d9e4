"""``GET /metrics``: what ``serve`` counts, in Prometheus's text format (``prometheus-client``).

The metric objects live in a registry of this module's own (:data:`REGISTRY`), not in
prometheus-client's global one: nothing a library registers there shows up here, and tests
read exactly ours. The rest of the service reports through the one-line functions below,
called where each thing happens (``service/webhooks.py``, ``service/intake.py``,
``service/delivery.py``).

Two kinds of figures:

- Counted in this process (updates received, handling latency, sends, 429s): every worker
  process has its own, so Prometheus scrapes every worker (one target per
  ``mistri-bot-serve@PORT``) and sums them (``sum by (channel) (rate(...))``).
  prometheus-client's multiprocess mode would merge them behind one port instead; with one
  systemd unit per worker port it is not needed.
- Read from the database at each scrape (inbox and outbox depth and age): the same in every
  worker, since the database is shared; take ``max`` of them across workers, not ``sum``.
  Each is one cheap query on an index, under :data:`SCRAPE_TIMEOUT`; a database that does not
  answer in time sets ``mistri_database_up`` to 0 and these gauges to NaN (not a stale value).

No label carries a person: channels, notice kinds and outcomes only.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import Table, bindparam, func, select
from starlette.responses import Response

from storage.database import Database
from storage.models import InboxState, InboxUpdate, OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)

#: How long a scrape (or the health check) waits for the database, in seconds.
SCRAPE_TIMEOUT = 2.0
#: Handling latency buckets, in seconds: 1 ms to 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter(
    "mistri_updates_received",
    "Webhook updates received, by channel and outcome (stored, duplicate, refused)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
HANDLING = Histogram(
    "mistri_update_handling_seconds",
    "Seconds from an update stored in the inbox to its handling done",
    ["channel"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SENDS = Counter(
    "mistri_sends",
    "Outbox send attempts, by channel, notice kind and result (sent, retry, failed, unreachable)",
    ["channel", "kind", "result"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "mistri_rate_limited",
    "Sends the channel told to wait (HTTP 429, after its own client's retries), by channel",
    ["channel"],
    registry=REGISTRY,
)
DATABASE_UP = Gauge(
    "mistri_database_up", "1 when the database answered this scrape, else 0", registry=REGISTRY
)
INBOX_PENDING = Gauge(
    "mistri_inbox_pending", "Updates stored and not handled yet (all workers)", registry=REGISTRY
)
INBOX_OLDEST = Gauge(
    "mistri_inbox_oldest_pending_seconds",
    "Age of the oldest update not handled yet (0: none)",
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "mistri_outbox_pending",
    "Notices not sent yet, due or waiting for a retry (all workers)",
    registry=REGISTRY,
)
OUTBOX_OLDEST_DUE = Gauge(
    "mistri_outbox_oldest_due_seconds",
    "How long the oldest due notice has been due (0: none)",
    registry=REGISTRY,
)

_inbox: Table = InboxUpdate.__table__  # type: ignore[attr-defined]
_outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
# Both on an index: ix_inbox_state_id (state, id), ix_outbox_pending_due (status, due_at).
_INBOX = select(func.count(), func.min(_inbox.c.received_at)).where(
    _inbox.c.state == bindparam("pending")
)
_OUTBOX = select(func.count(), func.min(_outbox.c.due_at)).where(
    _outbox.c.status == bindparam("pending")
)
_DUE = select(func.min(_outbox.c.due_at)).where(
    _outbox.c.status == bindparam("pending"), _outbox.c.due_at <= bindparam("now")
)


def refused(channel: str) -> None:
    """Count a webhook post refused for a missing or wrong secret or signature."""
    UPDATES.labels(channel, "refused").inc()


def received(channel: str, *, stored: int, duplicate: int) -> None:
    """Count a webhook post's updates: newly stored, and redeliveries of stored ones."""
    if stored:
        UPDATES.labels(channel, "stored").inc(stored)
    if duplicate:
        UPDATES.labels(channel, "duplicate").inc(duplicate)


def handled(channel: str, received_at: datetime) -> None:
    """Observe an update's handling latency: from when it was stored to now (done)."""
    HANDLING.labels(channel).observe(max(0.0, _age(received_at, utcnow())))


def send_result(channel: str, kind: str, result: str) -> None:
    """Count an outbox attempt's outcome: sent, retry, failed or unreachable."""
    SENDS.labels(channel, kind, result).inc()


def rate_limited(channel: str) -> None:
    """Count a send the channel told to wait (a 429 with its Retry-After)."""
    RATE_LIMITED.labels(channel).inc()


@dataclass(frozen=True, slots=True)
class Backlog:
    """The inbox and outbox as the database says (the same for every worker)."""

    inbox_pending: int
    inbox_oldest_s: float | None
    outbox_pending: int
    outbox_oldest_due_s: float | None


async def backlog(db: Database, *, within: float = SCRAPE_TIMEOUT) -> Backlog:
    """Read the inbox's and the outbox's depth and age, within ``within`` seconds.

    Raises:
        Exception: whatever the database raised, or TimeoutError.
    """
    pending_in, pending_out = str(InboxState.PENDING), str(OutboxStatus.PENDING)
    async with asyncio.timeout(within), db.read() as tx:
        now = utcnow()
        (inbox_count, inbox_oldest), *_ = await tx.rows(_INBOX, {"pending": pending_in})
        (outbox_count, _first), *_ = await tx.rows(_OUTBOX, {"pending": pending_out})
        oldest_due = await tx.scalar(_DUE, {"pending": pending_out, "now": now})
    return Backlog(
        int(inbox_count),
        _age(inbox_oldest, now) if inbox_oldest is not None else None,
        int(outbox_count),
        _age(oldest_due, now) if oldest_due is not None else None,
    )


async def exposition(db: Database) -> Response:
    """The ``GET /metrics`` answer: this process's counters and the database's backlog."""
    try:
        found = await backlog(db, within=SCRAPE_TIMEOUT)  # read now: tests shorten it
    except Exception as error:  # the scrape still answers: the database is said to be down
        log.warning("metrics: the database did not answer (%s)", type(error).__name__)
        DATABASE_UP.set(0)
        for gauge in (INBOX_PENDING, INBOX_OLDEST, OUTBOX_PENDING, OUTBOX_OLDEST_DUE):
            gauge.set(math.nan)
    else:
        DATABASE_UP.set(1)
        INBOX_PENDING.set(found.inbox_pending)
        INBOX_OLDEST.set(found.inbox_oldest_s or 0.0)
        OUTBOX_PENDING.set(found.outbox_pending)
        OUTBOX_OLDEST_DUE.set(found.outbox_oldest_due_s or 0.0)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _age(when: datetime | str, now: datetime) -> float:
    """Seconds from ``when`` to ``now``; a naive time (SQLite's) is UTC."""
    if isinstance(when, str):  # SQLite's min() of a datetime column gives its text
        when = datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (now - when).total_seconds())
