"""Erasing a technician: anonymous row kept, no more offers, unfinished jobs handed back."""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import job_messages, orders, technician_erasure, technicians
from storage.engine import session_factory
from storage.models import JobOffer, OfferStatus, Order, OrderStatus, Technician
from tests.storage.helpers import accept, add, offer, place_order

LEAVING = 900_000_001
STAYING = 900_000_002


async def place(engine: AsyncEngine, draft: str) -> int:
    return (await place_order(engine, draft)).id


async def test_erasing_a_technician(engine: AsyncEngine) -> None:
    leaving = await add(engine, LEAVING, "+8801812345678")
    staying = await add(engine, STAYING, "+8801912345678")
    assigned, pending, done, elsewhere = [await place(engine, f"d{n}") for n in range(4)]
    assigned_offer = await offer(engine, assigned, leaving, LEAVING)
    await accept(engine, assigned_offer, assigned, leaving)
    async with engine.begin() as conn:  # what delivering the contact records
        await conn.execute(
            update(JobOffer)
            .where(JobOffer.id == assigned_offer)  # type: ignore[arg-type]
            .values(contact_message_id=50, location_message_id=51)
        )
    await offer(engine, pending, leaving, LEAVING)
    done_offer = await offer(engine, done, leaving, LEAVING)
    await accept(engine, done_offer, done, leaving)
    async with engine.begin() as conn:
        await conn.execute(update(Order).where(Order.id == done).values(status=OrderStatus.DONE))
    await offer(engine, elsewhere, staying, STAYING)

    async with session_factory(engine)() as db:
        gone = await technician_erasure.erase_technician(db, telegram_id=LEAVING)
        await db.commit()
    assert gone is not None
    assert gone.technician_id == leaving
    assert gone.reoffer == (pending,)
    async with session_factory(engine)() as db:
        references = {
            order_id: (await orders.get(db, order_id=order_id)).reference
            for order_id in (assigned, pending)
        }
    assert gone.unassigned == (references[assigned],)
    assert [
        (m.order_id, m.chat_id, m.notice_id, m.contact_id, m.location_id) for m in gone.messages
    ] == [
        (assigned, LEAVING, 10 + assigned, 50, 51),
        (pending, LEAVING, 10 + pending, None, None),
    ]

    async with session_factory(engine)() as db:
        row = await technicians.get(db, technician_id=leaving)
        assert row is not None
        assert (row.name, row.phone, row.phone_index, row.active) == (None, None, None, False)
        assert (row.base_latitude, row.base_longitude) == (None, None)
        assert row.telegram_id == technician_erasure.placeholder_telegram_id(leaving) < 0
        assert await technicians.get_by_telegram_id(db, telegram_id=LEAVING) is None
        statuses = {
            order.id: (order.status, order.technician_id)
            for order in (await db.exec(select(Order))).scalars()
        }
        offers = (await db.exec(select(JobOffer))).scalars().all()
    assert statuses[assigned] == (OrderStatus.UNASSIGNED, None)
    assert statuses[done] == (OrderStatus.DONE, leaving)  # the anonymous row keeps past jobs
    assert statuses[pending][0] == OrderStatus.OFFERED  # offered on to the next by the bot
    theirs = [o for o in offers if o.technician_id == leaving]
    assert {o.chat_id for o in theirs} == {technician_erasure.NO_CHAT}
    assert not [o for o in theirs if o.status == OfferStatus.PENDING]
    assert [o.chat_id for o in offers if o.technician_id == staying] == [STAYING]

    # Never offered anything again; their messages are not found again either.
    async with engine.connect() as conn:
        assert await technicians.match(conn, service="plumbing", area="mirpur") is not None
        match = await technicians.match(conn, service="plumbing", area="mirpur", exclude={staying})
        assert match is None
        again = await job_messages.of_orders(conn, order_ids=[assigned, pending, done])
        assert again == ()

    async with session_factory(engine)() as db:
        assert await technician_erasure.erase_technician(db, telegram_id=LEAVING) is None


async def test_someone_who_is_no_technician_is_not_erased_here(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as db:
        assert await technician_erasure.erase_technician(db, telegram_id=42) is None
    async with session_factory(engine)() as db:
        assert (await db.exec(select(Technician))).first() is None
