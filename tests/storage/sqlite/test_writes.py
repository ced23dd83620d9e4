"""Database.write and DirectWriter: small write transactions on a connection of their own."""

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from channels.telegram.inbound import address
from storage import customers, outbox, outbox_outcomes
from storage.database import Database, Write
from storage.models import Customer, JobOffer

pytestmark = pytest.mark.sqlite_only("SQLite's direct writes")

AT = datetime(2026, 11, 24, 9, 30)
_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]
_RENAME = (
    update(_customers)
    .where(_customers.c.external_id == bindparam("who"))
    .values(name=bindparam("name"))
)


def consent(telegram_id: int) -> Write:
    return customers.consent("sqlite", person=address(telegram_id), lang="bn", version="v1", at=AT)


async def names(db: Database) -> list[tuple[str, str | None, datetime | None]]:
    async with db.read() as tx:
        query = select(_customers.c.external_id, _customers.c.name, _customers.c.consent_at)
        return [tuple(row) for row in await tx.execute(query.order_by(_customers.c.id))]


@pytest.mark.parametrize("direct", [True, False])
async def test_writes_commit_together_and_count_rows(db: Database, direct: bool) -> None:
    # The database's own connection for small writes, or (as elsewhere than a SQLite file)
    # a transaction of the engine.
    writer = db if direct else Database(db.engine, dedicated=False)
    counts = await writer.write([consent(1), consent(2), (_RENAME, {"who": "2", "name": "Rahim"})])
    assert counts == [1, 1, 1]
    # Read back through SQLAlchemy: the column types (encryption, times) were applied.
    assert await names(db) == [("1", None, AT), ("2", "Rahim", AT)]


async def test_a_failing_write_undoes_the_ones_before_it(db: Database) -> None:
    duplicate = (
        _customers.insert(),
        {
            "channel": "telegram",
            "external_id": "1",
            "lang": "bn",
            "created_at": AT,
            "updated_at": AT,
        },
    )
    with pytest.raises(IntegrityError):
        await db.write([consent(2), duplicate, duplicate])
    assert await names(db) == []
    assert await db.write([consent(3)]) == [1]  # the connection is usable again


async def test_it_waits_for_the_engines_transaction_without_blocking_the_loop(
    db: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "test.db", isolation_level=None)  # the engine's file
    other.execute("BEGIN IMMEDIATE")
    task = asyncio.create_task(db.write([consent(1)]))
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting, and the loop ran this test meanwhile
    other.execute("COMMIT")
    assert await asyncio.wait_for(task, 2) == [1]
    other.close()


async def test_a_contact_erased_in_flight_leaves_no_trace_on_the_offer(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.conn.exec_driver_sql(
            "INSERT INTO technicians (id, channel, external_id, lang, services, areas, active,"
            " created_at, status, available) VALUES (1, 'telegram', '500', 'bn', 'plumbing',"
            " 'all', 1, '2026-11-24', 'approved', 1)"
        )
        await tx.conn.exec_driver_sql(
            "INSERT INTO orders (id, reference, draft_id, lang, service, area, visit_date,"
            " visit_part, status, created_at, updated_at) VALUES (1, 'MS-AAAA', 'd', 'bn',"
            " 'plumbing', 'mirpur', '2026-11-25', 'morning', 'assigned', '2026-11-24',"
            " '2026-11-24')"
        )
        await tx.conn.exec_driver_sql(
            "INSERT INTO job_offers (id, order_id, technician_id, channel, chat_id, status,"
            " created_at) VALUES (1, 1, 1, 'telegram', '500', 'accepted', '2026-11-24')"
        )
        chat = address(500)
        kept = await outbox.enqueue(tx, to=chat, kind="contact", body={"t": 1}, offer_id=1)
        erased = await outbox.enqueue(tx, to=chat, kind="contact", body={"t": 2}, offer_id=1)
        await tx.conn.exec_driver_sql(f"DELETE FROM outbox WHERE id = {erased}")
    gone = await db.write(
        outbox_outcomes.sent(outbox_id=erased, message_id="70", contact_offer_id=1)
    )
    offer = select(_offers.c.contact_message_id)
    async with db.read() as tx:
        assert (await tx.execute(offer)).scalar() is None
    sent = await db.write(
        outbox_outcomes.sent(outbox_id=kept, message_id="71", contact_offer_id=1)
    )
    async with db.read() as tx:
        assert (await tx.execute(offer)).scalar() == "71"
    assert gone == [0, 0] and sent == [1, 1]
