"""Several workers on one database: who this worker is, and jobs one worker at a time does.

``serve`` started as several processes on one PostgreSQL database gives each a
:func:`worker_id`. The outbox is claimed row by row (``storage/outbox_claims.py``); a job that
must run in one worker at a time (the offers' clock, retention, the inbox purge) runs only in
the worker that holds its lease (``storage/leases.py``), taken again at every tick so that a
dead holder's job moves to another worker once its lease runs out.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import timedelta

from storage import leases
from storage.database import Database
from storage.models import utcnow

log = logging.getLogger(__name__)


def worker_id() -> str:
    """A name for this process, unique among the workers (host, process id, a random tag)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


async def ours(db: Database, name: str, holder: str | None, ttl: timedelta) -> bool:
    """Tell whether this worker runs job ``name`` now (always, when it is the only one).

    ``holder`` None: one process owns the database (SQLite's embedded bot), no lease.
    """
    if holder is None:
        return True
    async with db.transaction() as tx:
        held = await leases.take(tx, name, holder, utcnow(), ttl)
    if not held:
        log.debug("%s runs in another worker", name)
    return held
