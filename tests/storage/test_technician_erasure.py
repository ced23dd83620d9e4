"""Erasing a technician: anonymous row kept, no more offers, unfinished jobs handed back."""

from sqlalchemy import Table, select, update

from channels.telegram.inbound import address
from storage import job_messages, matching, orders, technician_erasure, technicians
from storage.database import Database
from storage.models import JobOffer, OfferStatus, Order, OrderStatus, Technician
from tests.storage.helpers import accept, add, offer, place_order

LEAVING = 900_000_001
STAYING = 900_000_002
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_technicians: Table = Technician.__table__  # type: ignore[attr-defined]


async def place(db: Database, draft: str) -> int:
    return (await place_order(db, draft)).id


async def test_erasing_a_technician(db: Database) -> None:
    leaving = await add(db, LEAVING, "+8801812345678")
    staying = await add(db, STAYING, "+8801912345678")
    assigned, pending, done, elsewhere = [await place(db, f"d{n}") for n in range(4)]
    assigned_offer = await offer(db, assigned, leaving, LEAVING)
    await accept(db, assigned_offer, assigned, leaving)
    async with db.transaction() as tx:  # what delivering the contact records
        await tx.execute(
            update(_offers)
            .where(_offers.c.id == assigned_offer)
            .values(contact_message_id="50", location_message_id="51")
        )
    await offer(db, pending, leaving, LEAVING)
    done_offer = await offer(db, done, leaving, LEAVING)
    await accept(db, done_offer, done, leaving)
    async with db.transaction() as tx:
        await tx.execute(
            update(_orders).where(_orders.c.id == done).values(status=OrderStatus.DONE)
        )
    await offer(db, elsewhere, staying, STAYING)

    async with db.transaction() as tx:
        gone = await technician_erasure.erase_technician(tx, person=address(LEAVING))
    assert gone is not None
    assert gone.technician_id == leaving
    assert gone.reoffer == (pending,)
    async with db.read() as tx:
        references = {}
        for order_id in (assigned, pending):
            order = await orders.load(tx, order_id=order_id)
            assert order is not None
            references[order_id] = order.reference
    assert gone.unassigned == (references[assigned],)
    assert [
        (m.order_id, m.chat, m.notice_id, m.contact_id, m.location_id) for m in gone.messages
    ] == [
        (assigned, address(LEAVING), str(10 + assigned), "50", "51"),
        (pending, address(LEAVING), str(10 + pending), None, None),
    ]

    async with db.read() as tx:
        row = await technicians.load(tx, technician_id=leaving)
        assert row is not None
        assert (row.name, row.phone, row.phone_index, row.active) == (None, None, None, False)
        assert (row.base_latitude, row.base_longitude) == (None, None)
        # No address left (it had a negative placeholder Telegram id): no one to reach.
        assert row.external_id is None
        assert technicians.address(row) is None
        assert await technicians.find(tx, person=address(LEAVING)) is None
        statuses = {
            order_id: (status, technician_id)
            for order_id, status, technician_id in await tx.execute(
                select(_orders.c.id, _orders.c.status, _orders.c.technician_id)
            )
        }
        offers = (
            await tx.execute(select(_offers.c.technician_id, _offers.c.status, _offers.c.chat_id))
        ).all()
    assert statuses[assigned] == (OrderStatus.UNASSIGNED, None)
    assert statuses[done] == (OrderStatus.DONE, leaving)  # the anonymous row keeps past jobs
    assert statuses[pending][0] == OrderStatus.OFFERED  # offered on to the next by the bot
    theirs = [o for o in offers if o.technician_id == leaving]
    assert {o.chat_id for o in theirs} == {None}  # no chat on record (it was 0)
    assert not [o for o in theirs if o.status == OfferStatus.PENDING]
    assert [o.chat_id for o in offers if o.technician_id == staying] == [str(STAYING)]

    # Never offered anything again; their messages are not found again either.
    async with db.read() as tx:
        assert await matching.match(tx, service="plumbing", area="mirpur") is not None
        match = await matching.match(tx, service="plumbing", area="mirpur", exclude={staying})
        assert match is None
        again = await job_messages.of_orders(tx, order_ids=[assigned, pending, done])
        assert again == ()

    async with db.transaction() as tx:
        assert await technician_erasure.erase_technician(tx, person=address(LEAVING)) is None


async def test_someone_who_is_no_technician_is_not_erased_here(db: Database) -> None:
    async with db.transaction() as tx:
        assert await technician_erasure.erase_technician(tx, person=address(42)) is None
    async with db.read() as tx:
        assert (await tx.execute(select(_technicians))).first() is None
