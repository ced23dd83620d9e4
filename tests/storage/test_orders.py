"""Orders: references, idempotent confirmation, atomic offer answers, matching."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import orders, technicians
from storage.engine import session_factory
from storage.models import OrderStatus
from tests.storage.helpers import place_order


async def place(engine: AsyncEngine, draft: str = "d1", area: str = "mirpur") -> int:
    return (await place_order(engine, draft, area=area)).id


def test_reference_format() -> None:
    reference = orders.new_reference()
    assert reference.startswith("MS-") and len(reference) == 7
    assert not set(reference[3:]) & set("01ILO")


async def test_confirming_the_same_booking_twice_stores_one_order(engine: AsyncEngine) -> None:
    first = await place(engine, "same")
    second = await place(engine, "same")
    assert first == second


async def test_only_one_of_two_answers_to_an_offer_wins(engine: AsyncEngine) -> None:
    order_id = await place(engine)
    async with session_factory(engine)() as db:
        tech = await technicians.add(
            db,
            telegram_id=9,
            name="K",
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
        )
        await db.commit()
    async with engine.begin() as conn:
        offer_id = await orders.offer(
            conn, order_id=order_id, technician_id=tech.id or 0, chat_id=9
        )
    async with session_factory(engine)() as db:
        assert await orders.answer(await db.connection(), offer_id=offer_id, accept=True)
        assert not await orders.answer(await db.connection(), offer_id=offer_id, accept=True)
        assert not await orders.answer(await db.connection(), offer_id=offer_id, accept=False)
        await db.commit()


async def test_match_respects_service_area_exclusions_and_load(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as db:
        a = await technicians.add(
            db,
            telegram_id=1,
            name="A",
            phone="+8801812345671",
            services=["plumbing"],
            areas=["mirpur"],
        )
        b = await technicians.add(
            db,
            telegram_id=2,
            name="B",
            phone="+8801812345672",
            services=["electrical"],
            areas=["all"],
        )
        c = await technicians.add(
            db,
            telegram_id=3,
            name="C",
            phone="+8801812345673",
            services=["plumbing"],
            areas=["all"],
        )
        await db.commit()
    async with engine.connect() as db:
        assert (await technicians.match(db, service="plumbing", area="mirpur")).id == a.id  # type: ignore[union-attr]
        assert (await technicians.match(db, service="plumbing", area="uttara")).id == c.id  # type: ignore[union-attr]
        assert (await technicians.match(db, service="electrical", area="other")).id == b.id  # type: ignore[union-attr]
        picked = await technicians.match(
            db, service="plumbing", area="mirpur", exclude={a.id or 0, c.id or 0}
        )
        assert picked is None
        assert await technicians.match(db, service="masonry", area="mirpur") is None


async def test_duplicate_technician_is_refused(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as db:
        await technicians.add(
            db,
            telegram_id=1,
            name="A",
            phone="+8801812345671",
            services=["plumbing"],
            areas=["all"],
        )
        with pytest.raises(technicians.DuplicateTechnicianError):
            await technicians.add(
                db,
                telegram_id=1,
                name="A",
                phone="+8801812345671",
                services=["plumbing"],
                areas=["all"],
            )


async def test_new_orders_are_found_for_recovery(engine: AsyncEngine) -> None:
    order_id = await place(engine)
    async with engine.connect() as conn:
        pending = await orders.stalled(conn)
        assert pending == [order_id]
        order = await orders.load(conn, order_id=order_id)
        assert order is not None and order.status == OrderStatus.NEW


async def test_match_prefers_the_technician_who_waited_longest_for_an_offer(
    engine: AsyncEngine,
) -> None:
    async with session_factory(engine)() as db:
        first = await technicians.add(
            db,
            telegram_id=1,
            name="A",
            phone="+8801812345671",
            services=["plumbing"],
            areas=["all"],
        )
        second = await technicians.add(
            db,
            telegram_id=2,
            name="B",
            phone="+8801812345672",
            services=["plumbing"],
            areas=["all"],
        )
        await db.commit()
    order_id = await place(engine)
    async with engine.connect() as conn:
        # Never offered either: the earlier registration goes first.
        assert (await technicians.match(conn, service="plumbing", area="mirpur")).id == first.id  # type: ignore[union-attr]
    async with engine.begin() as conn:
        await orders.offer(conn, order_id=order_id, technician_id=first.id or 0, chat_id=1)
    async with engine.connect() as conn:
        assert (await technicians.match(conn, service="plumbing", area="mirpur")).id == second.id  # type: ignore[union-attr]


async def test_a_technician_with_job_history_cannot_be_removed_only_disabled(
    engine: AsyncEngine,
) -> None:
    async with session_factory(engine)() as db:
        tech = await technicians.add(
            db,
            telegram_id=5,
            name="E",
            phone="+8801812345675",
            services=["plumbing"],
            areas=["all"],
        )
        await db.commit()
    order_id = await place(engine)
    async with engine.begin() as conn:
        await orders.offer(conn, order_id=order_id, technician_id=tech.id or 0, chat_id=5)
    async with session_factory(engine)() as db:
        with pytest.raises(technicians.TechnicianHasHistoryError):
            await technicians.remove(db, technician_id=tech.id or 0)
        await technicians.set_active(db, technician_id=tech.id or 0, active=False)
        await db.commit()
    async with engine.connect() as conn:
        assert await technicians.match(conn, service="plumbing", area="mirpur") is None
