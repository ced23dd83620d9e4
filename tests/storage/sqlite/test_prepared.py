"""storage.prepared: the same statements, answers and transactions as through SQLAlchemy."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import prepared
from storage.crypto import EncryptedText
from storage.engine import begin, connect, create_engine
from storage.models import Customer

_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_INSERT = _customers.insert().returning(_customers.c.id)
_READ = select(
    _customers.c.telegram_id,
    _customers.c.name,
    _customers.c.phone,
    _customers.c.latitude,
    _customers.c.consent_at,
    _customers.c.created_at,
).where(_customers.c.telegram_id == bindparam("telegram_id"))
_RENAME = (
    update(_customers)
    .where(_customers.c.telegram_id == bindparam("who"))
    .values(name=bindparam("name"))
)
NOW = datetime(2026, 11, 24, 9, 30, 15, 123456)


@pytest.fixture
async def memory_engine() -> AsyncIterator[AsyncEngine]:
    # An in-memory database runs through aiosqlite's thread: the ordinary path.
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    async with engine.begin() as conn:
        await conn.run_sync(Customer.metadata.create_all)
    yield engine
    await engine.dispose()


def customer(
    telegram_id: int, name: str | None = "Rahim", phone: str | None = None
) -> dict[str, Any]:
    return {
        "telegram_id": telegram_id,
        "lang": "bn",
        "name": name,
        "phone": phone or "+8801712345678",
        "latitude": 23.8223,
        "consent_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }


def seen_by_sqlalchemy(engine: AsyncEngine) -> list[str]:
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: statements.append(statement),
    )
    return statements


async def test_a_file_database_runs_statements_past_sqlalchemy(engine: AsyncEngine) -> None:
    through_sqlalchemy = seen_by_sqlalchemy(engine)
    async with begin(engine) as conn:
        assert prepared.sqlite_handle(conn) is not None
        [(customer_id,)] = await prepared.rows(conn, _INSERT, customer(7))
        assert await prepared.run(conn, _RENAME, {"who": 7, "name": "Karim"}) == 1
    async with connect(engine) as conn:
        rows = await prepared.rows(conn, _READ, {"telegram_id": 7})
    assert customer_id == 1
    assert rows == [(7, "Karim", "+8801712345678", 23.8223, NOW, NOW)]
    assert not [s for s in through_sqlalchemy if "customers" in s]


async def test_values_are_stored_exactly_as_sqlalchemy_stores_them(
    engine: AsyncEngine,
) -> None:
    async with begin(engine) as conn:
        await prepared.rows(conn, _INSERT, customer(1, "রহিম <b>&</b>"))
        await conn.execute(_INSERT, customer(2, "রহিম <b>&</b>"))
    async with connect(engine) as conn:
        # Read back by SQLAlchemy (decrypted, parsed): both rows agree.
        read = await conn.execute(select(*_READ.selected_columns).order_by(_customers.c.id))
        raw = await conn.exec_driver_sql(
            "SELECT typeof(name), length(name), consent_at, length(latitude)"
            " FROM customers ORDER BY id"
        )
        shapes = raw.all()
    first, second = read.all()
    assert first[1:] == second[1:]
    assert first[1] == "রহিম <b>&</b>"
    # Encrypted bytes of the same length (fresh nonces differ), the same date text.
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == "blob"


async def test_other_engines_take_the_ordinary_path(memory_engine: AsyncEngine) -> None:
    through_sqlalchemy = seen_by_sqlalchemy(memory_engine)
    async with begin(memory_engine) as conn:
        assert prepared.sqlite_handle(conn) is None
        [(customer_id,)] = await prepared.rows(conn, _INSERT, customer(7))
        assert await prepared.run(conn, _RENAME, {"who": 7, "name": "Karim"}) == 1
        rows = await prepared.rows(conn, _READ, {"telegram_id": 7})
    assert customer_id == 1
    assert rows == [(7, "Karim", "+8801712345678", 23.8223, NOW, NOW)]
    assert len([s for s in through_sqlalchemy if "customers" in s]) == 3


async def test_a_rollback_undoes_prepared_writes(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with begin(engine) as conn:
            await prepared.rows(conn, _INSERT, customer(7))
            raise RuntimeError("the update failed half way")
    async with connect(engine) as conn:
        assert await prepared.rows(conn, _READ, {"telegram_id": 7}) == []


async def test_a_write_outside_a_transaction_is_committed_as_sqlalchemy_would(
    engine: AsyncEngine,
) -> None:
    # No begin(): SQLAlchemy's own path opens (and, on close, rolls back) a transaction; the
    # prepared path must not open one SQLite keeps and SQLAlchemy never hears of.
    async with connect(engine) as conn:
        await prepared.rows(conn, _INSERT, customer(7))
        await conn.commit()
    async with connect(engine) as conn:
        await prepared.run(conn, _RENAME, {"who": 7, "name": "Karim"})
    async with connect(engine) as conn:
        assert (await prepared.rows(conn, _READ, {"telegram_id": 7}))[0][1] == "Rahim"


async def test_constraint_errors_are_sqlalchemys(engine: AsyncEngine) -> None:
    async with begin(engine) as conn:
        await prepared.rows(conn, _INSERT, customer(7))
    with pytest.raises(IntegrityError) as caught:
        async with begin(engine) as conn:
            await prepared.rows(conn, _INSERT, customer(7, phone="+8801799999999"))
    # Parameters (personal data) never reach the message.
    assert "+8801799999999" not in str(caught.value)


async def test_statements_it_cannot_take_go_through_sqlalchemy(engine: AsyncEngine) -> None:
    async with begin(engine) as conn:
        for telegram_id in (1, 2, 3):
            await prepared.rows(conn, _INSERT, customer(telegram_id))
    in_list = select(_customers.c.telegram_id).where(
        _customers.c.telegram_id.in_(bindparam("ids", expanding=True))
    )
    through_sqlalchemy = seen_by_sqlalchemy(engine)
    async with connect(engine) as conn:
        rows = await prepared.rows(conn, in_list, {"ids": [1, 3]})
    assert sorted(rows) == [(1,), (3,)]
    assert len(through_sqlalchemy) == 1


async def test_python_side_defaults_are_left_to_sqlalchemy(engine: AsyncEngine) -> None:
    table = Table(
        "counters",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("value", Integer, default=lambda: 42),
        Column("secret", EncryptedText("counters.secret")),
    )
    async with begin(engine) as conn:
        await conn.run_sync(table.create)
        await prepared.run(conn, table.insert(), {"secret": "x"})
        rows = await prepared.rows(conn, select(table.c.value, table.c.secret), {})
    assert rows == [(42, "x")]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.none() | st.text(max_size=200),
    latitude=st.none() | st.floats(-90, 90),
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
async def test_any_value_reads_back_the_same_both_ways(
    engine: AsyncEngine, name: str | None, latitude: float | None, when: datetime
) -> None:
    values = customer(1, name) | {"latitude": latitude, "consent_at": when}
    async with begin(engine) as conn:
        await conn.exec_driver_sql("DELETE FROM customers")
        await prepared.rows(conn, _INSERT, values)
    async with connect(engine) as conn:
        fast = await prepared.rows(conn, _READ, {"telegram_id": 1})
        ordinary = [tuple(row) for row in await conn.execute(_READ, {"telegram_id": 1})]
    assert fast == ordinary
    assert fast[0][1:5] == (name, "+8801712345678", latitude, when)
