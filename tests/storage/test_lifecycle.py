"""Storage of the job lifecycle: conditional status changes, ratings, matching, overviews."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import orders, technicians
from storage.engine import session_factory
from storage.models import Order, OrderStatus
from tests.storage.helpers import place_order as place

_orders = Order.__table__  # type: ignore[attr-defined]


async def add(engine: AsyncEngine, telegram_id: int, name: str = "K") -> int:
    async with session_factory(engine)() as db:
        technician = await technicians.add(
            db,
            telegram_id=telegram_id,
            name=name,
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
        )
        await db.commit()
        return technician.id or 0


async def set_order(engine: AsyncEngine, order_id: int, **values: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(_orders).where(_orders.c.id == order_id).values(**values))


async def load(engine: AsyncEngine, order_id: int) -> orders.StoredOrder:
    async with engine.connect() as conn:
        order = await orders.load(conn, order_id=order_id)
    assert order is not None
    return order


async def test_status_moves_only_from_the_allowed_state_by_the_assigned_one(
    engine: AsyncEngine,
) -> None:
    karim, jamal = await add(engine, 1), await add(engine, 2)
    order = await place(engine, "d1")
    await set_order(engine, order.id, status=OrderStatus.ASSIGNED, technician_id=karim)
    way = (OrderStatus.ASSIGNED,)
    async with engine.begin() as conn:
        # Not theirs, then not from that state: nothing moves.
        assert not await orders.move_assigned(
            conn,
            order_id=order.id,
            technician_id=jamal,
            allowed=way,
            status=OrderStatus.ON_THE_WAY,
        )
        assert not await orders.move_assigned(
            conn,
            order_id=order.id,
            technician_id=karim,
            allowed=(OrderStatus.ON_THE_WAY,),
            status=OrderStatus.DONE,
        )
        assert await orders.move_assigned(
            conn,
            order_id=order.id,
            technician_id=karim,
            allowed=way,
            status=OrderStatus.ON_THE_WAY,
        )
        # The same press twice: only one changes the row.
        assert not await orders.move_assigned(
            conn,
            order_id=order.id,
            technician_id=karim,
            allowed=way,
            status=OrderStatus.ON_THE_WAY,
        )
    assert (await load(engine, order.id)).status == "on_the_way"


async def test_give_back_releases_the_order_with_the_reason(engine: AsyncEngine) -> None:
    karim = await add(engine, 1)
    order = await place(engine, "d1")
    await set_order(engine, order.id, status=OrderStatus.ON_THE_WAY, technician_id=karim)
    async with engine.begin() as conn:
        assert await orders.give_back(
            conn, order_id=order.id, technician_id=karim, reason="technician:cannot"
        )
        assert not await orders.give_back(
            conn, order_id=order.id, technician_id=karim, reason="technician:other"
        )
    released = await load(engine, order.id)
    assert (released.status, released.technician_id, released.cancel_reason) == (
        "new",
        None,
        "technician:cannot",
    )


async def test_customer_cancel_only_of_their_open_order(engine: AsyncEngine) -> None:
    order = await place(engine, "d1")
    other = await place(engine, "d2", telegram_id=43)
    async with engine.begin() as conn:
        assert not await orders.cancel_by_customer(
            conn, order_id=order.id, customer_id=other.customer_id or 0
        )
        assert await orders.cancel_by_customer(
            conn, order_id=order.id, customer_id=order.customer_id or 0
        )
        assert not await orders.cancel_by_customer(
            conn, order_id=order.id, customer_id=order.customer_id or 0
        )
    cancelled = await load(engine, order.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "customer")


async def test_a_rating_once_on_a_done_job_then_one_comment(engine: AsyncEngine) -> None:
    order = await place(engine, "d1")
    customer = order.customer_id or 0
    async with engine.begin() as conn:
        assert not await orders.rate(conn, order_id=order.id, customer_id=customer, stars=5)
        assert not await orders.comment_rating(
            conn, order_id=order.id, customer_id=customer, comment="early"
        )
    await set_order(engine, order.id, status=OrderStatus.DONE)
    async with engine.begin() as conn:
        assert not await orders.rate(conn, order_id=order.id, customer_id=customer + 1, stars=5)
        assert await orders.rate(conn, order_id=order.id, customer_id=customer, stars=3)
        assert not await orders.rate(conn, order_id=order.id, customer_id=customer, stars=5)
        assert await orders.comment_rating(
            conn, order_id=order.id, customer_id=customer, comment="Good <b>"
        )
        assert not await orders.comment_rating(
            conn, order_id=order.id, customer_id=customer, comment="again"
        )
        with pytest.raises(ValueError, match="1 to 5"):
            await orders.rate(conn, order_id=order.id, customer_id=customer, stars=6)
    rated = await load(engine, order.id)
    assert (rated.rating, rated.rating_comment) == (3, "Good <b>")
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT rating_comment FROM orders"))).scalar()
    assert b"Good" not in raw  # encrypted at rest


async def test_rating_breaks_a_tie_in_matching(engine: AsyncEngine) -> None:
    first, second = await add(engine, 1, "First"), await add(engine, 2, "Second")
    async with engine.connect() as conn:
        chosen = await technicians.match(conn, service="plumbing", area="mirpur")
    assert chosen is not None and chosen.id == first  # the earlier registered, all else equal
    # Finished jobs rated 3 (first) and 5 and 4 (second): no load, never offered.
    for n, (technician, stars) in enumerate(((first, 3), (second, 5), (second, 4))):
        order = await place(engine, f"r{n}")
        await set_order(
            engine, order.id, status=OrderStatus.DONE, technician_id=technician, rating=stars
        )
    async with engine.connect() as conn:
        chosen = await technicians.match(conn, service="plumbing", area="mirpur")
        excluded = await technicians.match(
            conn, service="plumbing", area="mirpur", exclude={second}
        )
    assert chosen is not None and chosen.id == second
    assert excluded is not None and excluded.id == first
    # Rating only breaks ties: fewer open jobs still comes first.
    busy = await place(engine, "busy")
    await set_order(engine, busy.id, status=OrderStatus.ASSIGNED, technician_id=second)
    async with engine.connect() as conn:
        chosen = await technicians.match(conn, service="plumbing", area="mirpur")
    assert chosen is not None and chosen.id == first


async def test_hand_assignment_is_an_accepted_offer_of_record(engine: AsyncEngine) -> None:
    karim = await add(engine, 1)
    order = await place(engine, "d1")
    async with engine.begin() as conn:
        offer_id = await orders.record_assignment(
            conn, order_id=order.id, technician_id=karim, chat_id=1
        )
        offer = await orders.load_offer(conn, offer_id=offer_id)
        assert offer is not None and offer.status == "accepted"
        assert await orders.offered_technicians(conn, order_id=order.id) == {karim}
        assert await orders.pending_offers(conn, order_id=order.id) == []


async def test_open_orders_oldest_first_with_counts_and_technician(engine: AsyncEngine) -> None:
    karim = await add(engine, 1, "Karim Uddin")
    first, second, done = [await place(engine, d) for d in ("a", "b", "c")]
    await set_order(engine, second.id, status=OrderStatus.ASSIGNED, technician_id=karim)
    await set_order(engine, done.id, status=OrderStatus.DONE, technician_id=karim)
    async with engine.connect() as conn:
        rows = await orders.open_orders(conn)
        counts = await orders.open_counts(conn)
        limited = await orders.open_orders(conn, limit=1)
    assert [row.reference for row in rows] == [first.reference, second.reference]
    assert rows[1].technician_name == "Karim Uddin" and rows[0].technician_name is None
    assert rows[0].created_at.tzinfo is not None
    assert counts == {"new": 1, "assigned": 1}
    assert [row.reference for row in limited] == [first.reference]


async def test_overview_counts_open_jobs_and_ratings(engine: AsyncEngine) -> None:
    karim, jamal = await add(engine, 1, "Karim"), await add(engine, 2, "Jamal")
    left = await add(engine, 3, "Gone")
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE technicians SET telegram_id = -id, name = NULL WHERE id = :id"),
            {"id": left},
        )
    for n, (status, stars) in enumerate(
        ((OrderStatus.ASSIGNED, None), (OrderStatus.DONE, 4), (OrderStatus.DONE, 5))
    ):
        order = await place(engine, f"o{n}")
        await set_order(engine, order.id, status=status, technician_id=karim, rating=stars)
    async with engine.connect() as conn:
        rows = await technicians.overview(conn)
    assert [row.id for row in rows] == [karim, jamal]
    assert (rows[0].name, rows[0].open_jobs, rows[0].rating, rows[0].ratings) == (
        "Karim",
        1,
        4.5,
        2,
    )
    assert (rows[1].open_jobs, rows[1].rating, rows[1].ratings) == (0, None, 0)
    assert rows[0].phone == "+8801812345678"  # decrypted; the texts mask it
