"""Kill test: 3 ``serve`` workers on one PostgreSQL, 40 customers booking, SIGKILLs every ~1 s.

The harness (``tests/service/kill_harness.py``) starts the workers as processes, the fake Bot
API and the fake Graph API over loopback HTTP, half the customers on Telegram and half on
WhatsApp, and a killer that SIGKILLs a random live worker every 0.5-1.5 s for the whole run
and starts it again on its port. Posts a worker could not take go to the next one with the
same update id; an answer that does not come is asked for by posting the update again.

Checked always (what the design guarantees): every booking completes; each reference is stored
once, one order per customer, each the reference its customer was told; no answer is lost and
each customer's answers come in order; each order's offer notice is sent once (the outbox
claimed across workers) but where a worker died between the channel's acceptance and its
record, which may send it twice (at most two such here). An update is done only once answered,
and its id is saved with the session: one a kill interrupted after its commit is handled again
by another worker, which asks the step's question again (or shows the orders) instead of
applying it twice. So an answer may come twice, or as the question instead of the original
words: counted, not failed. ``MISTRI_KILL_STRICT=1`` also fails on those. PostgreSQL only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.postgres import Postgres
from tests.service.kill_harness import KillConfig, run_kill

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

#: Also no answer twice or reworded (at least once is what a kill allows: see above).
STRICT = os.environ.get("MISTRI_KILL_STRICT") == "1"


async def test_kill_workers_at_random_every_booking_completes_once_in_order(
    postgres: Postgres | None, tmp_path: Path
) -> None:
    if postgres is None:
        pytest.skip("several workers need PostgreSQL: set MISTRI_TEST_POSTGRES_URL")
    config = KillConfig(
        database_url=await postgres.fresh(),
        data_key=TEST_SECRET,
        workers=3,
        customers=40,
        kill_every=(0.5, 1.5),
        think=(0.2, 1.2),
        # Shorter than serve's 30 s so a killed worker's updates come back within the test;
        # still well above a handling on a busy 2-core machine.
        lease_s=15.0,
        redeliver_after=2.0,
        step_deadline=60.0,
        check_notices=True,
        logs=tmp_path,
    )
    report = await run_kill(config)
    summary = report.summary()
    print(summary)  # the figures, with -s
    assert report.kills >= 10, summary
    assert report.redeliveries > 0 and report.posts_failed_over > 0, summary
    assert report.completed == config.customers, summary
    assert report.references_unique, summary
    assert report.order_problems == [], summary
    assert report.answers_lost == 0, summary
    # Out of order only where a kill cost a part of an answer and the step's question stood
    # in for it (counted); a reordering of complete answers fails.
    assert report.answers_reordered == 0, summary
    # A notice goes twice only when a worker died between the Bot API's or the Graph API's
    # acceptance and its record (neither can say whether a message went out): a few at most.
    assert report.offers_duplicated <= 2, summary
    if STRICT:
        assert report.findings == [] and report.notice_problems == [], summary
