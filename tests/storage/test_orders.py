"""Orders: references, idempotent confirmation, atomic offer answers, matching."""

import pytest

from channels.telegram.inbound import address
from storage import job_offers, matching, orders, technicians
from storage.database import Database, Tx
from storage.models import OrderStatus, Technician
from tests.storage.helpers import place_order


async def place(db: Database, draft: str = "d1", area: str = "mirpur") -> int:
    return (await place_order(db, draft, area=area)).id


async def add(tx: Tx, telegram_id: int, name: str, services: str, areas: str) -> Technician:
    return await technicians.add(
        tx,
        person=address(telegram_id),
        name=name,
        phone=f"+880181234567{telegram_id}",
        services=[services],
        areas=[areas],
    )


def test_reference_format() -> None:
    reference = orders.new_reference()
    assert reference.startswith("MS-") and len(reference) == 7
    assert not set(reference[3:]) & set("01ILO")


async def test_confirming_the_same_booking_twice_stores_one_order(db: Database) -> None:
    first = await place(db, "same")
    second = await place(db, "same")
    assert first == second


async def test_only_one_of_two_answers_to_an_offer_wins(db: Database) -> None:
    order_id = await place(db)
    async with db.transaction() as tx:
        tech = await technicians.add(
            tx,
            person=address(9),
            name="K",
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
        )
    async with db.transaction() as tx:
        offer_id = await job_offers.offer(
            tx, order_id=order_id, technician_id=tech.id or 0, chat=address(9)
        )
    async with db.transaction() as tx:
        assert await job_offers.answer(tx, offer_id=offer_id, accept=True)
        assert not await job_offers.answer(tx, offer_id=offer_id, accept=True)
        assert not await job_offers.answer(tx, offer_id=offer_id, accept=False)


async def test_match_respects_service_area_exclusions_and_load(db: Database) -> None:
    async with db.transaction() as tx:
        a = await add(tx, 1, "A", "plumbing", "mirpur")
        b = await add(tx, 2, "B", "electrical", "all")
        c = await add(tx, 3, "C", "plumbing", "all")
    async with db.read() as tx:
        assert (await matching.match(tx, service="plumbing", area="mirpur")).id == a.id  # type: ignore[union-attr]
        assert (await matching.match(tx, service="plumbing", area="uttara")).id == c.id  # type: ignore[union-attr]
        assert (await matching.match(tx, service="electrical", area="other")).id == b.id  # type: ignore[union-attr]
        picked = await matching.match(
            tx, service="plumbing", area="mirpur", exclude={a.id or 0, c.id or 0}
        )
        assert picked is None
        assert await matching.match(tx, service="masonry", area="mirpur") is None


async def test_duplicate_technician_is_refused(db: Database) -> None:
    async with db.transaction() as tx:
        await add(tx, 1, "A", "plumbing", "all")
        with pytest.raises(technicians.DuplicateTechnicianError):
            await add(tx, 1, "A", "plumbing", "all")


async def test_new_orders_are_found_for_recovery(db: Database) -> None:
    order_id = await place(db)
    async with db.read() as tx:
        pending = await orders.stalled(tx)
        assert pending == [order_id]
        order = await orders.load(tx, order_id=order_id)
        assert order is not None and order.status == OrderStatus.NEW


async def test_match_prefers_the_technician_who_waited_longest_for_an_offer(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        first = await add(tx, 1, "A", "plumbing", "all")
        second = await add(tx, 2, "B", "plumbing", "all")
    order_id = await place(db)
    async with db.read() as tx:
        # Never offered either: the earlier registration goes first.
        assert (await matching.match(tx, service="plumbing", area="mirpur")).id == first.id  # type: ignore[union-attr]
    async with db.transaction() as tx:
        await job_offers.offer(tx, order_id=order_id, technician_id=first.id or 0, chat=address(1))
    async with db.read() as tx:
        assert (await matching.match(tx, service="plumbing", area="mirpur")).id == second.id  # type: ignore[union-attr]


async def test_a_technician_with_job_history_cannot_be_removed_only_disabled(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        tech = await add(tx, 5, "E", "plumbing", "all")
    order_id = await place(db)
    async with db.transaction() as tx:
        await job_offers.offer(tx, order_id=order_id, technician_id=tech.id or 0, chat=address(5))
    async with db.transaction() as tx:
        with pytest.raises(technicians.TechnicianHasHistoryError):
            await technicians.remove(tx, technician_id=tech.id or 0)
        await technicians.set_active(tx, technician_id=tech.id or 0, active=False)
    async with db.read() as tx:
        assert await matching.match(tx, service="plumbing", area="mirpur") is None
