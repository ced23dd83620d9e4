"""Retention: finished orders lose their personal fields, abandoned bookings are forgotten."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Row, Table, event, select, update

from channels.telegram.inbound import address
from conversations.session import Session
from storage import orders, retention
from storage.crypto import _Encrypted
from storage.database import Database
from storage.erasure import PERSONAL_ORDER_FIELDS
from storage.models import ConversationSession, Customer, Order, OrderStatus, utcnow
from storage.sessions import SessionStore
from tests.storage.helpers import insert

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
DAYS = 180
WINDOW = timedelta(days=DAYS)
SECOND = timedelta(seconds=1)
OPEN_STATUSES = [status for status in OrderStatus if status not in retention.TERMINAL_STATUSES]
PERSONAL = {
    "name": "Rahim Uddin",
    "phone": "+8801712345678",
    "address": "House 12, Road 5, Mirpur",
    "latitude": 23.8103,
    "longitude": 90.4125,
    "problem": "kitchen tap leaks",
    "area_other": "Beside the mosque",
    "rating_comment": "Came on time, fixed it fast",
}


_numbers = itertools.count(1)
_sessions: Table = ConversationSession.__table__  # type: ignore[attr-defined]


async def add_customer(db: Database, telegram_id: int = 42) -> int:
    person = address(telegram_id)
    async with db.transaction() as tx:
        customer = Customer(channel=person.channel, external_id=person.id, lang="en", name="Rahim")
        customer_id: int = await insert(tx, customer)
    return customer_id


async def add_order(
    db: Database,
    customer_id: int,
    *,
    status: OrderStatus = OrderStatus.DONE,
    finished: datetime = NOW - WINDOW - SECOND,
) -> int:
    number = next(_numbers)
    async with db.transaction() as tx:
        order = Order(
            reference=f"MS-{number:04d}",
            draft_id=f"draft-{number}",
            customer_id=customer_id,
            lang="en",
            service="plumbing",
            area="mirpur",
            visit_date=date(2026, 5, 20),
            visit_part="evening",
            status=status,
            created_at=finished - timedelta(days=2),
            updated_at=finished,
            **PERSONAL,
        )
        order_id: int = await insert(tx, order)
    return order_id


async def get_order(db: Database, order_id: int) -> orders.StoredOrder:
    async with db.read() as tx:
        order = await orders.load(tx, order_id=order_id)
    assert order is not None
    return order


def is_erased(order: orders.StoredOrder) -> bool:
    return order.customer_id is None and all(
        getattr(order, name) is None for name in PERSONAL_ORDER_FIELDS
    )


def is_intact(order: orders.StoredOrder) -> bool:
    return order.customer_id is not None and all(
        getattr(order, name) == value for name, value in PERSONAL.items()
    )


async def expire(db: Database, **kwargs: Any) -> int:
    result = await retention.erase_expired(
        db, now=kwargs.pop("now", NOW), retention_days=DAYS, **kwargs
    )
    return result.orders


def test_every_encrypted_order_column_is_a_personal_field() -> None:
    # A new encrypted column on Order must be erased too: add it to PERSONAL_ORDER_FIELDS.
    encrypted = {
        column.name
        for column in Order.__table__.columns  # type: ignore[attr-defined]
        if isinstance(column.type, _Encrypted)
    }
    assert encrypted == set(PERSONAL_ORDER_FIELDS)
    assert set(PERSONAL) == encrypted  # the fixture fills every one of them


def test_terminal_statuses_are_done_and_cancelled() -> None:
    # Any other status may still move on; a new final status must be added here.
    assert set(retention.TERMINAL_STATUSES) == {OrderStatus.DONE, OrderStatus.CANCELLED}


@pytest.mark.parametrize("status", retention.TERMINAL_STATUSES)
async def test_finished_order_just_outside_the_window_is_erased(
    db: Database, status: OrderStatus
) -> None:
    customer = await add_customer(db)
    order_id = await add_order(db, customer, status=status, finished=NOW - WINDOW - SECOND)
    assert await expire(db) == 1
    assert is_erased(await get_order(db, order_id))


@pytest.mark.parametrize("status", retention.TERMINAL_STATUSES)
async def test_finished_order_just_inside_the_window_is_kept(
    db: Database, status: OrderStatus
) -> None:
    customer = await add_customer(db)
    order_id = await add_order(db, customer, status=status, finished=NOW - WINDOW + SECOND)
    assert await expire(db) == 0
    assert is_intact(await get_order(db, order_id))


@pytest.mark.parametrize("status", OPEN_STATUSES)
async def test_open_orders_are_never_touched(db: Database, status: OrderStatus) -> None:
    customer = await add_customer(db)
    order_id = await add_order(db, customer, status=status, finished=NOW - 10 * WINDOW)
    assert await expire(db) == 0
    assert is_intact(await get_order(db, order_id))


async def test_the_anonymised_row_keeps_what_is_not_personal(db: Database) -> None:
    customer = await add_customer(db)
    order_id = await add_order(db, customer, status=OrderStatus.CANCELLED)
    before = await get_order(db, order_id)
    await expire(db)
    after = await get_order(db, order_id)
    kept = ("reference", "lang", "service", "area", "visit_date", "visit_part", "status")
    assert {name: getattr(after, name) for name in kept} == {
        name: getattr(before, name) for name in kept
    }
    assert (after.service, after.area, after.status) == ("plumbing", "mirpur", "cancelled")
    assert after.visit_date == date(2026, 5, 20)
    # The finishing time stays: anonymising does not restart the order's clock.
    assert after.updated_at == before.updated_at
    assert is_erased(after)


async def test_the_retention_days_setting_moves_the_window(db: Database) -> None:
    customer = await add_customer(db)
    order_id = await add_order(db, customer, finished=NOW - timedelta(days=31))
    result = await retention.erase_expired(db, now=NOW, retention_days=60)
    assert result.orders == 0
    result = await retention.erase_expired(db, now=NOW, retention_days=30)
    assert result.orders == 1
    assert is_erased(await get_order(db, order_id))


@pytest.mark.parametrize("count", [2, 3, 4, 6, 7])
async def test_batches_erase_everything_one_transaction_each(db: Database, count: int) -> None:
    customer = await add_customer(db)
    expired = [await add_order(db, customer) for _ in range(count)]
    kept = await add_order(db, customer, finished=NOW - WINDOW + SECOND)
    commits: list[None] = []
    event.listen(db.engine.sync_engine, "commit", lambda _connection: commits.append(None))
    assert await expire(db, batch_size=3) == count
    # A full batch is followed by another look; a short one ends the pass.
    assert len(commits) == count // 3 + 1
    for order_id in expired:
        assert is_erased(await get_order(db, order_id))
    assert is_intact(await get_order(db, kept))


async def test_a_second_run_finds_nothing(db: Database) -> None:
    customer = await add_customer(db)
    order_id = await add_order(db, customer)
    assert await expire(db) == 1
    first = await get_order(db, order_id)
    assert await expire(db) == 0
    assert await expire(db, now=NOW + 5 * WINDOW) == 0
    again = await get_order(db, order_id)
    columns = [column.name for column in Order.__table__.columns]  # type: ignore[attr-defined]
    assert [getattr(again, name) for name in columns] == [getattr(first, name) for name in columns]


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN")
async def test_erased_orders_are_skipped_through_the_customer_index(db: Database) -> None:
    # Most old orders are finished and anonymised: the daily pass must not read them all.
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE orders"):
            statements.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    await expire(db)
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    statement, parameters = statements[0]
    async with db.read() as tx:
        plan = await tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        details = [row[3] for row in plan]
    assert any("ix_orders_customer_id" in detail for detail in details), details
    assert not any("ix_orders_status" in detail or "SCAN" in detail for detail in details)


async def test_bad_arguments_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await retention.erase_expired(db, now=datetime(2026, 1, 1), retention_days=DAYS)
    with pytest.raises(ValueError, match="at least 1"):
        await retention.erase_expired(db, now=NOW, retention_days=0)


# Abandoned bookings.


async def add_session(
    db: Database, user_id: int, *, flow: str, age: timedelta, lang: str = "bn"
) -> None:
    data = {"address": "House 12, Road 5", "phone": "+8801712345678"} if flow != "idle" else {}
    person = address(user_id)
    async with db.transaction() as tx:
        await insert(
            tx,
            ConversationSession(
                channel=person.channel,
                person_id=person.id,
                lang=lang,
                flow=flow,
                step="phone" if flow != "idle" else "",
                data=data,
                updated_at=NOW - age,
            ),
        )


def own_session(user_id: int) -> Any:
    person = address(user_id)
    return (_sessions.c.channel == person.channel) & (_sessions.c.person_id == person.id)


async def get_session(db: Database, user_id: int) -> Row[Any]:
    async with db.read() as tx:
        row: Row[Any] | None = (
            await tx.execute(select(_sessions).where(own_session(user_id)))
        ).first()
    assert row is not None
    return row


async def abandon(db: Database, **kwargs: Any) -> int:
    now = kwargs.pop("now", NOW)
    return (await retention.erase_abandoned(db, now=now, **kwargs)).sessions


async def test_booking_untouched_for_8_days_is_erased_6_days_is_kept(
    db: Database,
) -> None:
    await add_session(db, 8, flow="booking", age=timedelta(days=8), lang="en")
    await add_session(db, 6, flow="booking", age=timedelta(days=6))
    assert await abandon(db) == 1

    erased = await get_session(db, 8)
    assert (erased.lang, erased.flow, erased.step, erased.data) == ("en", "idle", "", None)
    kept = await get_session(db, 6)
    assert (kept.flow, kept.step) == ("booking", "phone")
    assert kept.data == {"address": "House 12, Road 5", "phone": "+8801712345678"}


async def test_the_seven_day_boundary(db: Database) -> None:
    await add_session(db, 1, flow="booking", age=timedelta(days=7) + SECOND)
    await add_session(db, 2, flow="booking", age=timedelta(days=7) - SECOND)
    assert await abandon(db) == 1
    assert (await get_session(db, 1)).flow == "idle"
    assert (await get_session(db, 2)).flow == "booking"


async def test_idle_sessions_are_left_alone(db: Database) -> None:
    await add_session(db, 3, flow="idle", age=timedelta(days=400), lang="en")
    assert await abandon(db) == 0
    row = await get_session(db, 3)
    assert (row.lang, row.flow) == ("en", "idle")
    # SQLite hands times back naive; they are stored in UTC.
    assert row.updated_at.replace(tzinfo=UTC) == NOW - timedelta(days=400)


async def test_abandoned_sessions_in_batches_and_a_second_run(db: Database) -> None:
    for user_id in range(1, 8):
        await add_session(db, user_id, flow="booking", age=timedelta(days=30))
    assert await abandon(db, batch_size=3) == 7
    assert await abandon(db, batch_size=3) == 0
    for user_id in range(1, 8):
        assert (await get_session(db, user_id)).data is None


async def test_the_session_cache_does_not_bring_an_erased_booking_back(
    db: Database,
) -> None:
    store = SessionStore(db)
    await store.start()
    try:
        await store.save(Session(address(9), "en", "booking", "phone", {"address": "House 12"}))
        assert (await store.load(address(9))).flow == "booking"  # now cached
        async with db.transaction() as tx:
            await tx.execute(
                update(_sessions).where(own_session(9)).values(updated_at=NOW - timedelta(days=8))
            )
        assert await abandon(db, store=store) == 1
        session = await store.load(address(9))
        assert (session.lang, session.flow, session.step, session.data) == ("en", "idle", "", {})
    finally:
        await store.close()


async def test_a_booking_saved_again_is_not_erased(db: Database) -> None:
    # Someone who answered just now is no longer abandoned, whatever the old row said.
    store = SessionStore(db)
    await store.start()
    try:
        await add_session(db, 10, flow="booking", age=NOW - utcnow() + timedelta(days=8))
        await store.save(
            Session(address(10), "bn", "booking", "name", {"phone": "+8801712345678"})
        )
        assert await abandon(db, store=store, now=utcnow()) == 0
        assert (await store.load(address(10))).step == "name"
    finally:
        await store.close()
    async with db.read() as tx:
        flow = (await tx.execute(select(_sessions.c.flow).where(own_session(10)))).scalar_one()
    assert flow == "booking"
