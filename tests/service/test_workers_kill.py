"""Kill test: 3 ``serve`` workers on one PostgreSQL, 40 customers booking, SIGKILLs every ~1 s.

The harness (``tests/service/kill_harness.py``) starts the workers as processes, the fake Bot
API and the fake Graph API over loopback HTTP, half the customers on Telegram and half on
WhatsApp, and a killer that SIGKILLs a random live worker every 0.5-1.5 s for the whole run
and starts it again on its port. Posts a worker could not take go to the next one with the
same update id; an answer that does not come is asked for by posting the update again.

Checked always (what the design guarantees): a done update is never handled again, so no
answer comes twice and each customer's answers come in order; each reference is stored once,
one order per customer, each the reference its customer was told; every booking completes
but those a kill stalled (``stalled``: their update done, its answer lost or a different
one). Checked with ``MISTRI_KILL_STRICT=1`` (once the done mark is committed with the
update's effects and answers are durable): nothing lost and nothing handled twice at all.
Checked with
``MISTRI_KILL_CHECK_NOTICES=1`` (once the outbox is claimed across workers): each order's
offer notice sent once. PostgreSQL only.
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

#: Nothing lost, nothing handled twice (today a kill can lose an answer or handle an update
#: twice: see kill_harness's module docstring).
STRICT = os.environ.get("MISTRI_KILL_STRICT") == "1"
#: The offer notices once per order: needs the outbox's claims across workers.
CHECK_NOTICES = os.environ.get("MISTRI_KILL_CHECK_NOTICES") == "1"


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
        check_notices=CHECK_NOTICES,
        logs=tmp_path,
    )
    report = await run_kill(config)
    summary = report.summary()
    print(summary)  # the figures, with -s
    assert report.kills >= 10, summary
    assert report.redeliveries > 0 and report.posts_failed_over > 0, summary
    # A customer the design may leave stuck: a kill lost the answer their next step needs,
    # or handled their update twice so that a different answer came (measured, not failed).
    assert report.completed + report.stalled == config.customers, summary
    assert report.references_unique, summary
    assert report.order_problems == [], summary
    assert report.answers_duplicated == 0, summary
    assert report.answers_out_of_order == 0, summary
    assert report.notice_problems == [], summary
    if STRICT:
        assert report.completed == config.customers, summary
        assert report.findings == [], summary
