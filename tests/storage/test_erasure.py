"""Erasure: every personal field goes, orders under way are cancelled, waiting offers lapse."""

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import customers, erasure, orders, technicians
from storage.crypto import _Encrypted
from storage.engine import session_factory
from storage.models import (
    ConversationSession,
    Customer,
    JobOffer,
    OfferStatus,
    Order,
    OrderStatus,
)

ERASED = 42
KEPT = 43


async def place(engine: AsyncEngine, telegram_id: int, draft: str) -> int:
    async with engine.begin() as conn:
        customer_id = await customers.save_details(
            conn,
            telegram_id=telegram_id,
            lang="en",
            name="Rahim Zorbek",
            phone="+8801712345678",
            address="House 1, Road Plqk",
            latitude=23.81,
            longitude=90.41,
        )
        order, _ = await orders.place(
            conn,
            draft_id=draft,
            customer_id=customer_id,
            lang="en",
            service="plumbing",
            area="other",
            area_other="Vorpaltown",
            address="House 1, Road Plqk",
            latitude=23.81,
            longitude=90.41,
            phone="+8801712345678",
            name="Rahim Zorbek",
            problem="Leaking tap",
            visit_date=date(2026, 11, 25),
            visit_part="evening",
        )
        return order.id


async def set_status(engine: AsyncEngine, order_id: int, status: OrderStatus) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(Order).where(Order.id == order_id).values(status=status))


async def erase(engine: AsyncEngine, telegram_id: int = ERASED) -> bool:
    async with session_factory(engine)() as db:
        erased = await erasure.erase_customer(db, telegram_id=telegram_id)
        await db.commit()
    return erased


async def order_row(engine: AsyncEngine, order_id: int) -> Order:
    async with session_factory(engine)() as db:
        order = await db.get(Order, order_id)
        assert order is not None
        return order


async def add_technician(engine: AsyncEngine, telegram_id: int = 9) -> int:
    async with session_factory(engine)() as db:
        technician = await technicians.add(
            db,
            telegram_id=telegram_id,
            name="Karim",
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
        )
        await db.commit()
        return technician.id or 0


def test_every_encrypted_order_column_is_a_personal_field() -> None:
    table = Order.__table__  # type: ignore[attr-defined]
    encrypted = {c.name for c in table.columns if isinstance(c.type, _Encrypted)}
    assert set(erasure.PERSONAL_ORDER_FIELDS) == encrypted
    assert {"name", "phone", "address", "latitude", "longitude", "problem", "area_other"} <= (
        encrypted
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (OrderStatus.NEW, OrderStatus.CANCELLED),
        (OrderStatus.OFFERED, OrderStatus.CANCELLED),
        (OrderStatus.ASSIGNED, OrderStatus.CANCELLED),
        (OrderStatus.UNASSIGNED, OrderStatus.CANCELLED),
        (OrderStatus.ON_THE_WAY, OrderStatus.CANCELLED),
        (OrderStatus.DONE, OrderStatus.DONE),
        (OrderStatus.CANCELLED, OrderStatus.CANCELLED),
    ],
)
async def test_orders_under_way_are_cancelled_finished_ones_keep_their_status(
    engine: AsyncEngine, before: OrderStatus, after: OrderStatus
) -> None:
    order_id = await place(engine, ERASED, "d1")
    await set_status(engine, order_id, before)
    assert await erase(engine)
    order = await order_row(engine, order_id)
    assert order.status == after
    assert order.customer_id is None
    for name in erasure.PERSONAL_ORDER_FIELDS:
        assert getattr(order, name) is None, name
    assert (order.reference, order.service, order.area) != ("", "", "")


async def test_every_status_but_done_and_cancelled_counts_as_under_way() -> None:
    under_way = set(OrderStatus) - set(erasure.FINISHED)
    assert OrderStatus.ON_THE_WAY in under_way
    assert set(erasure.FINISHED) == {OrderStatus.DONE, OrderStatus.CANCELLED}


async def test_waiting_offers_lapse_answered_ones_and_other_customers_stay(
    engine: AsyncEngine,
) -> None:
    technician = await add_technician(engine)
    mine = await place(engine, ERASED, "mine")
    mine_done = await place(engine, ERASED, "mine-done")
    theirs = await place(engine, KEPT, "theirs")
    async with engine.begin() as conn:
        waiting = await orders.offer(conn, order_id=mine, technician_id=technician, chat_id=9)
        finished = await orders.offer(
            conn, order_id=mine_done, technician_id=technician, chat_id=9
        )
        other = await orders.offer(conn, order_id=theirs, technician_id=technician, chat_id=9)
    await set_status(engine, mine_done, OrderStatus.DONE)
    async with session_factory(engine)() as db:
        assert await orders.answer(await db.connection(), offer_id=finished, accept=True)
        await db.commit()

    assert await erase(engine)

    async with session_factory(engine)() as db:
        statuses = {
            offer.id: offer.status for offer in (await db.exec(select(JobOffer))).scalars()
        }
    assert statuses == {
        waiting: OfferStatus.EXPIRED,
        finished: OfferStatus.ACCEPTED,
        other: OfferStatus.PENDING,
    }
    # A late Accept on the lapsed offer changes nothing.
    async with session_factory(engine)() as db:
        assert not await orders.answer(await db.connection(), offer_id=waiting, accept=True)
    assert (await order_row(engine, mine)).status == OrderStatus.CANCELLED
    # The other customer's order and profile are untouched.
    kept = await order_row(engine, theirs)
    assert (kept.status, kept.name, kept.phone) == (
        OrderStatus.OFFERED,
        "Rahim Zorbek",
        "+8801712345678",
    )
    async with session_factory(engine)() as db:
        assert await customers.get(db, telegram_id=KEPT) is not None
        assert await customers.get(db, telegram_id=ERASED) is None


async def test_a_session_alone_is_erased_and_reported_only_when_it_held_answers(
    engine: AsyncEngine,
) -> None:
    async with session_factory(engine)() as db:
        db.add(ConversationSession(user_id=ERASED, lang="en", flow="idle", data=None))
        db.add(
            ConversationSession(
                user_id=KEPT, lang="en", flow="booking", step="phone", data={"problem": "x"}
            )
        )
        await db.commit()
    assert not await erase(engine, ERASED)  # only a language choice: nothing "held"
    assert await erase(engine, KEPT)
    async with session_factory(engine)() as db:
        assert (await db.exec(select(ConversationSession))).first() is None
        assert (await db.exec(select(Customer))).first() is None
    assert not await erase(engine, KEPT)
