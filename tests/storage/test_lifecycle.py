"""Storage of the job lifecycle: conditional status changes, ratings, matching, overviews."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from channels.telegram.inbound import address
from storage import job_offers, matching, order_board, orders, technicians
from storage.database import Database
from storage.models import Order, OrderStatus
from tests.storage.helpers import place_order as place

_orders = Order.__table__  # type: ignore[attr-defined]


async def add(db: Database, telegram_id: int, name: str = "K") -> int:
    async with db.transaction() as tx:
        technician = await technicians.add(
            tx,
            person=address(telegram_id),
            name=name,
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
        )
    return technician.id or 0


async def set_order(db: Database, order_id: int, **values: object) -> None:
    async with db.transaction() as tx:
        await tx.execute(update(_orders).where(_orders.c.id == order_id).values(**values))


async def load(db: Database, order_id: int) -> orders.StoredOrder:
    async with db.read() as tx:
        order = await orders.load(tx, order_id=order_id)
    assert order is not None
    return order


async def test_status_moves_only_from_the_allowed_state_by_the_assigned_one(
    db: Database,
) -> None:
    karim, jamal = await add(db, 1), await add(db, 2)
    order = await place(db, "d1")
    await set_order(db, order.id, status=OrderStatus.ASSIGNED, technician_id=karim)
    way = (OrderStatus.ASSIGNED,)
    async with db.transaction() as tx:
        # Not theirs, then not from that state: nothing moves.
        assert not await orders.move_assigned(
            tx,
            order_id=order.id,
            technician_id=jamal,
            allowed=way,
            status=OrderStatus.ON_THE_WAY,
        )
        assert not await orders.move_assigned(
            tx,
            order_id=order.id,
            technician_id=karim,
            allowed=(OrderStatus.ON_THE_WAY,),
            status=OrderStatus.DONE,
        )
        assert await orders.move_assigned(
            tx,
            order_id=order.id,
            technician_id=karim,
            allowed=way,
            status=OrderStatus.ON_THE_WAY,
        )
        # The same press twice: only one changes the row.
        assert not await orders.move_assigned(
            tx,
            order_id=order.id,
            technician_id=karim,
            allowed=way,
            status=OrderStatus.ON_THE_WAY,
        )
    assert (await load(db, order.id)).status == "on_the_way"


async def test_give_back_releases_the_order_with_the_reason(db: Database) -> None:
    karim = await add(db, 1)
    order = await place(db, "d1")
    await set_order(db, order.id, status=OrderStatus.ON_THE_WAY, technician_id=karim)
    async with db.transaction() as tx:
        assert await orders.give_back(
            tx, order_id=order.id, technician_id=karim, reason="technician:cannot"
        )
        assert not await orders.give_back(
            tx, order_id=order.id, technician_id=karim, reason="technician:other"
        )
    released = await load(db, order.id)
    assert (released.status, released.technician_id, released.cancel_reason) == (
        "new",
        None,
        "technician:cannot",
    )


async def test_customer_cancel_only_of_their_open_order(db: Database) -> None:
    order = await place(db, "d1")
    other = await place(db, "d2", telegram_id=43)
    async with db.transaction() as tx:
        assert not await orders.cancel_by_customer(
            tx, order_id=order.id, customer_id=other.customer_id or 0
        )
        assert await orders.cancel_by_customer(
            tx, order_id=order.id, customer_id=order.customer_id or 0
        )
        assert not await orders.cancel_by_customer(
            tx, order_id=order.id, customer_id=order.customer_id or 0
        )
    cancelled = await load(db, order.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "customer")


async def test_a_rating_once_on_a_done_job_then_one_comment(db: Database) -> None:
    order = await place(db, "d1")
    customer = order.customer_id or 0
    async with db.transaction() as tx:
        assert not await orders.rate(tx, order_id=order.id, customer_id=customer, stars=5)
        assert not await orders.comment_rating(
            tx, order_id=order.id, customer_id=customer, comment="early"
        )
    await set_order(db, order.id, status=OrderStatus.DONE)
    async with db.transaction() as tx:
        assert not await orders.rate(tx, order_id=order.id, customer_id=customer + 1, stars=5)
        assert await orders.rate(tx, order_id=order.id, customer_id=customer, stars=3)
        assert not await orders.rate(tx, order_id=order.id, customer_id=customer, stars=5)
        assert await orders.comment_rating(
            tx, order_id=order.id, customer_id=customer, comment="Good <b>"
        )
        assert not await orders.comment_rating(
            tx, order_id=order.id, customer_id=customer, comment="again"
        )
        with pytest.raises(ValueError, match="1 to 5"):
            await orders.rate(tx, order_id=order.id, customer_id=customer, stars=6)
    rated = await load(db, order.id)
    assert (rated.rating, rated.rating_comment) == (3, "Good <b>")
    async with db.read() as tx:
        raw = (await tx.execute(text("SELECT rating_comment FROM orders"))).scalar()
    assert b"Good" not in raw  # encrypted at rest


async def test_rating_breaks_a_tie_in_matching(db: Database) -> None:
    first, second = await add(db, 1, "First"), await add(db, 2, "Second")
    async with db.read() as tx:
        chosen = await matching.match(tx, service="plumbing", area="mirpur")
    assert chosen is not None and chosen.id == first  # the earlier registered, all else equal
    # Finished jobs rated 3 (first) and 5 and 4 (second): no load, never offered.
    for n, (technician, stars) in enumerate(((first, 3), (second, 5), (second, 4))):
        order = await place(db, f"r{n}")
        await set_order(
            db, order.id, status=OrderStatus.DONE, technician_id=technician, rating=stars
        )
    async with db.read() as tx:
        chosen = await matching.match(tx, service="plumbing", area="mirpur")
        excluded = await matching.match(tx, service="plumbing", area="mirpur", exclude={second})
    assert chosen is not None and chosen.id == second
    assert excluded is not None and excluded.id == first
    # Rating only breaks ties: fewer open jobs still comes first.
    busy = await place(db, "busy")
    await set_order(db, busy.id, status=OrderStatus.ASSIGNED, technician_id=second)
    async with db.read() as tx:
        chosen = await matching.match(tx, service="plumbing", area="mirpur")
    assert chosen is not None and chosen.id == first


async def test_hand_assignment_is_an_accepted_offer_of_record(db: Database) -> None:
    karim = await add(db, 1)
    order = await place(db, "d1")
    async with db.transaction() as tx:
        offer_id = await job_offers.record_assignment(
            tx, order_id=order.id, technician_id=karim, chat=address(1)
        )
        offer = await job_offers.load_offer(tx, offer_id=offer_id)
        assert offer is not None and offer.status == "accepted"
        assert await job_offers.offered_technicians(tx, order_id=order.id) == {karim}
        assert await job_offers.pending_offers(tx, order_id=order.id) == []


async def test_open_orders_oldest_first_with_counts_and_technician(db: Database) -> None:
    karim = await add(db, 1, "Karim Uddin")
    first, second, done = [await place(db, d) for d in ("a", "b", "c")]
    await set_order(db, second.id, status=OrderStatus.ASSIGNED, technician_id=karim)
    await set_order(db, done.id, status=OrderStatus.DONE, technician_id=karim)
    async with db.read() as tx:
        rows = await order_board.open_orders(tx)
        counts = await order_board.open_counts(tx)
        limited = await order_board.open_orders(tx, limit=1)
    assert [row.reference for row in rows] == [first.reference, second.reference]
    assert rows[1].technician_name == "Karim Uddin" and rows[0].technician_name is None
    assert rows[0].created_at.tzinfo is not None
    assert counts == {"new": 1, "assigned": 1}
    assert [row.reference for row in limited] == [first.reference]


async def test_overview_counts_open_jobs_and_ratings(db: Database) -> None:
    karim, jamal = await add(db, 1, "Karim"), await add(db, 2, "Jamal")
    left = await add(db, 3, "Gone")
    async with db.transaction() as tx:
        await tx.execute(
            text("UPDATE technicians SET external_id = NULL, name = NULL WHERE id = :id"),
            {"id": left},
        )
    for n, (status, stars) in enumerate(
        ((OrderStatus.ASSIGNED, None), (OrderStatus.DONE, 4), (OrderStatus.DONE, 5))
    ):
        order = await place(db, f"o{n}")
        await set_order(db, order.id, status=status, technician_id=karim, rating=stars)
    async with db.read() as tx:
        rows = await technicians.overview(tx)
    assert [row.id for row in rows] == [karim, jamal]
    assert (rows[0].name, rows[0].open_jobs, rows[0].rating, rows[0].ratings) == (
        "Karim",
        1,
        4.5,
        2,
    )
    assert (rows[1].open_jobs, rows[1].rating, rows[1].ratings) == (0, None, 0)
    assert rows[0].phone == "+8801812345678"  # decrypted; the texts mask it
