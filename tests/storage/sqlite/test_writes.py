"""storage.writes and DirectWriter: small write transactions on a connection of their own."""

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import customers, outbox, prepared
from storage.engine import begin, connect
from storage.models import Customer, JobOffer
from storage.writes import Writes

AT = datetime(2026, 11, 24, 9, 30)
_customers = Customer.__table__  # type: ignore[attr-defined]
_RENAME = (
    update(_customers)
    .where(_customers.c.telegram_id == bindparam("who"))
    .values(name=bindparam("name"))
)


def consent(telegram_id: int) -> prepared.Write:
    return customers.consent("sqlite", telegram_id=telegram_id, lang="bn", version="v1", at=AT)


async def names(engine: AsyncEngine) -> list[tuple[int, str | None, datetime | None]]:
    async with connect(engine) as conn:
        query = select(_customers.c.telegram_id, _customers.c.name, _customers.c.consent_at)
        return [tuple(row) for row in await conn.execute(query.order_by(_customers.c.id))]  # type: ignore[misc]


@pytest.mark.parametrize("direct", [True, False])
async def test_writes_commit_together_and_count_rows(engine: AsyncEngine, direct: bool) -> None:
    writes = Writes(engine, direct=direct)
    counts = await writes([consent(1), consent(2), (_RENAME, {"who": 2, "name": "Rahim"})])
    writes.close()
    assert counts == [1, 1, 1]
    # Read back through SQLAlchemy: the column types (encryption, times) were applied.
    assert await names(engine) == [(1, None, AT), (2, "Rahim", AT)]


async def test_a_failing_write_undoes_the_ones_before_it(engine: AsyncEngine) -> None:
    writes = Writes(engine)
    duplicate = (
        _customers.insert(),
        {"telegram_id": 1, "lang": "bn", "created_at": AT, "updated_at": AT},
    )
    with pytest.raises(IntegrityError):
        await writes([consent(2), duplicate, duplicate])
    assert await names(engine) == []
    assert await writes([consent(3)]) == [1]  # the connection is usable again
    writes.close()


async def test_it_waits_for_the_engines_transaction_without_blocking_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    writes = Writes(engine)
    other = sqlite3.connect(tmp_path / "test.db", isolation_level=None)  # the engine's file
    other.execute("BEGIN IMMEDIATE")
    task = asyncio.create_task(writes([consent(1)]))
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting, and the loop ran this test meanwhile
    other.execute("COMMIT")
    assert await asyncio.wait_for(task, 2) == [1]
    other.close()
    writes.close()


async def test_a_contact_erased_in_flight_leaves_no_trace_on_the_offer(
    engine: AsyncEngine,
) -> None:
    async with begin(engine) as conn:
        await conn.exec_driver_sql(
            "INSERT INTO technicians (id, telegram_id, lang, services, areas, active, created_at,"
            " status, available) VALUES (1, 500, 'bn', 'plumbing', 'all', 1, '2026-11-24', "
            "'approved', 1)"
        )
        await conn.exec_driver_sql(
            "INSERT INTO orders (id, reference, draft_id, lang, service, area, visit_date,"
            " visit_part, status, created_at, updated_at) VALUES (1, 'MS-AAAA', 'd', 'bn',"
            " 'plumbing', 'mirpur', '2026-11-25', 'morning', 'assigned', '2026-11-24',"
            " '2026-11-24')"
        )
        await conn.exec_driver_sql(
            "INSERT INTO job_offers (id, order_id, technician_id, chat_id, status, created_at)"
            " VALUES (1, 1, 1, 500, 'accepted', '2026-11-24')"
        )
        kept = await outbox.enqueue(conn, chat_id=500, kind="contact", body={"t": 1}, offer_id=1)
        erased = await outbox.enqueue(conn, chat_id=500, kind="contact", body={"t": 2}, offer_id=1)
        await conn.exec_driver_sql(f"DELETE FROM outbox WHERE id = {erased}")
    writes = Writes(engine)
    gone = await writes(outbox.sent(outbox_id=erased, message_id=70, contact_offer_id=1))
    offer = select(JobOffer.contact_message_id)  # type: ignore[call-overload]
    async with connect(engine) as conn:
        assert (await conn.execute(offer)).scalar() is None
    sent = await writes(outbox.sent(outbox_id=kept, message_id=71, contact_offer_id=1))
    writes.close()
    async with connect(engine) as conn:
        assert (await conn.execute(offer)).scalar() == 71
    assert gone == [0, 0] and sent == [1, 1]
