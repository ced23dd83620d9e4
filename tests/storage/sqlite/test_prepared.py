"""storage.sqlite.prepared: the same statements, answers and transactions as through SQLAlchemy."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, select, update
from sqlalchemy.exc import IntegrityError

from storage.crypto import EncryptedText
from storage.database import Database
from storage.models import Customer
from storage.sqlite import prepared

pytestmark = pytest.mark.sqlite_only("statements on SQLite's own handle")

_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_INSERT = _customers.insert().returning(_customers.c.id)
_READ = select(
    _customers.c.external_id,
    _customers.c.name,
    _customers.c.phone,
    _customers.c.latitude,
    _customers.c.consent_at,
    _customers.c.created_at,
).where(_customers.c.external_id == bindparam("external_id"))
_RENAME = (
    update(_customers)
    .where(_customers.c.external_id == bindparam("who"))
    .values(name=bindparam("name"))
)
NOW = datetime(2026, 11, 24, 9, 30, 15, 123456)


@pytest.fixture
async def memory_db() -> AsyncIterator[Database]:
    # An in-memory database runs through aiosqlite's thread: the ordinary path.
    database = Database.open("sqlite+aiosqlite:///:memory:")
    async with database.engine.begin() as conn:
        await conn.run_sync(Customer.metadata.create_all)
    yield database
    await database.close()


def customer(
    telegram_id: int, name: str | None = "Rahim", phone: str | None = None
) -> dict[str, Any]:
    return {
        "channel": "telegram",
        "external_id": str(telegram_id),
        "lang": "bn",
        "name": name,
        "phone": phone or "+8801712345678",
        "latitude": 23.8223,
        "consent_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }


def seen_by_sqlalchemy(db: Database) -> list[str]:
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: statements.append(statement),
    )
    return statements


async def test_a_file_database_runs_statements_past_sqlalchemy(db: Database) -> None:
    through_sqlalchemy = seen_by_sqlalchemy(db)
    async with db.transaction() as tx:
        assert prepared.handle_of(tx.conn) is not None
        [(customer_id,)] = await tx.rows(_INSERT, customer(7))
        assert await tx.run(_RENAME, {"who": "7", "name": "Karim"}) == 1
    async with db.read() as tx:
        rows = await tx.rows(_READ, {"external_id": "7"})
        # What the unit of work ran: the sync functions on SQLite's own handle.
        handle = prepared.handle_of(tx.conn)
        assert handle is not None
        direct = prepared.rows(handle, tx.dialect, _READ, {"external_id": "7"}, writable=False)
    assert customer_id == 1
    assert rows == [("7", "Karim", "+8801712345678", 23.8223, NOW, NOW)]
    assert direct == rows
    assert not [s for s in through_sqlalchemy if "customers" in s]


async def test_values_are_stored_exactly_as_sqlalchemy_stores_them(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.rows(_INSERT, customer(1, "রহিম <b>&</b>"))
        await tx.execute(_INSERT, customer(2, "রহিম <b>&</b>"))
    async with db.read() as tx:
        # Read back by SQLAlchemy (decrypted, parsed): both rows agree.
        read = await tx.execute(select(*_READ.selected_columns).order_by(_customers.c.id))
        raw = await tx.conn.exec_driver_sql(
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


async def test_other_engines_take_the_ordinary_path(memory_db: Database) -> None:
    through_sqlalchemy = seen_by_sqlalchemy(memory_db)
    async with memory_db.transaction() as tx:
        assert prepared.handle_of(tx.conn) is None
        [(customer_id,)] = await tx.rows(_INSERT, customer(7))
        assert await tx.run(_RENAME, {"who": "7", "name": "Karim"}) == 1
        rows = await tx.rows(_READ, {"external_id": "7"})
    assert customer_id == 1
    assert rows == [("7", "Karim", "+8801712345678", 23.8223, NOW, NOW)]
    assert len([s for s in through_sqlalchemy if "customers" in s]) == 3


async def test_a_rollback_undoes_prepared_writes(db: Database) -> None:
    through_sqlalchemy = seen_by_sqlalchemy(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.rows(_INSERT, customer(7))
            # On SQLite's own handle, inside SQLAlchemy's transaction.
            assert not [s for s in through_sqlalchemy if "customers" in s]
            assert len(await tx.rows(_READ, {"external_id": "7"})) == 1
            raise RuntimeError("the update failed half way")
    async with db.read() as tx:
        assert await tx.rows(_READ, {"external_id": "7"}) == []


async def test_a_write_outside_a_transaction_is_committed_as_sqlalchemy_would(
    db: Database,
) -> None:
    # No transaction (a unit of work that reads): SQLAlchemy's own path opens (and, on close,
    # rolls back) a transaction; the prepared path must not open one SQLite keeps and
    # SQLAlchemy never hears of.
    async with db.read() as tx:
        handle = prepared.handle_of(tx.conn)
        assert handle is not None
        assert prepared.rows(handle, tx.dialect, _INSERT, customer(7), writable=False) is None
        await tx.rows(_INSERT, customer(7))
        await tx.conn.commit()
    async with db.read() as tx:
        await tx.run(_RENAME, {"who": "7", "name": "Karim"})
    async with db.read() as tx:
        assert (await tx.rows(_READ, {"external_id": "7"}))[0][1] == "Rahim"


async def test_constraint_errors_are_sqlalchemys(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.rows(_INSERT, customer(7))
    with pytest.raises(IntegrityError) as caught:
        async with db.transaction() as tx:
            await tx.rows(_INSERT, customer(7, phone="+8801799999999"))
    # Parameters (personal data) never reach the message.
    assert "+8801799999999" not in str(caught.value)


async def test_statements_it_cannot_take_go_through_sqlalchemy(db: Database) -> None:
    async with db.transaction() as tx:
        for telegram_id in (1, 2, 3):
            await tx.rows(_INSERT, customer(telegram_id))
    in_list = select(_customers.c.external_id).where(
        _customers.c.external_id.in_(bindparam("ids", expanding=True))
    )
    through_sqlalchemy = seen_by_sqlalchemy(db)
    async with db.read() as tx:
        handle = prepared.handle_of(tx.conn)
        assert handle is not None
        assert prepared.rows(handle, tx.dialect, in_list, {"ids": ["1"]}, writable=False) is None
        rows = await tx.rows(in_list, {"ids": ["1", "3"]})
    assert sorted(rows) == [("1",), ("3",)]
    assert len(through_sqlalchemy) == 1


async def test_python_side_defaults_are_left_to_sqlalchemy(db: Database) -> None:
    table = Table(
        "counters",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("value", Integer, default=lambda: 42),
        Column("secret", EncryptedText("counters.secret")),
    )
    async with db.transaction() as tx:
        await tx.conn.run_sync(table.create)
        await tx.run(table.insert(), {"secret": "x"})
        rows = await tx.rows(select(table.c.value, table.c.secret), {})
    assert rows == [(42, "x")]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.none() | st.text(max_size=200),
    latitude=st.none() | st.floats(-90, 90),
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
async def test_any_value_reads_back_the_same_both_ways(
    db: Database, name: str | None, latitude: float | None, when: datetime
) -> None:
    values = customer(1, name) | {"latitude": latitude, "consent_at": when}
    async with db.transaction() as tx:
        await tx.conn.exec_driver_sql("DELETE FROM customers")
        await tx.rows(_INSERT, values)
    async with db.read() as tx:
        fast = await tx.rows(_READ, {"external_id": "1"})
        ordinary = [tuple(row) for row in await tx.execute(_READ, {"external_id": "1"})]
    assert fast == ordinary
    assert fast[0][1:5] == (name, "+8801712345678", latitude, when)
