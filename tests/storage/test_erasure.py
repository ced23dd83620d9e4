"""Erasure: every personal field goes, orders under way are cancelled, waiting offers lapse."""

from datetime import date

import pytest
from sqlalchemy import Table, select, update

from channels.telegram.inbound import address
from storage import customers, erasure, job_offers, orders, technicians
from storage.crypto import _Encrypted
from storage.database import Database
from storage.models import (
    ConversationSession,
    Customer,
    JobOffer,
    OfferStatus,
    Order,
    OrderStatus,
)
from tests.storage.helpers import insert

ERASED = 42
KEPT = 43
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]


async def place(db: Database, telegram_id: int, draft: str) -> int:
    async with db.transaction() as tx:
        customer_id = await customers.save_details(
            tx,
            person=address(telegram_id),
            lang="en",
            name="Rahim Zorbek",
            phone="+8801712345678",
            address="House 1, Road Plqk",
            latitude=23.81,
            longitude=90.41,
        )
        order, _ = await orders.place(
            tx,
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


async def set_status(db: Database, order_id: int, status: OrderStatus) -> None:
    async with db.transaction() as tx:
        await tx.execute(update(_orders).where(_orders.c.id == order_id).values(status=status))


async def erase(db: Database, telegram_id: int = ERASED) -> bool:
    async with db.transaction() as tx:
        return await erasure.erase_customer(tx, person=address(telegram_id))


async def order_row(db: Database, order_id: int) -> orders.StoredOrder:
    async with db.read() as tx:
        order = await orders.load(tx, order_id=order_id)
    assert order is not None
    return order


async def add_technician(db: Database, telegram_id: int = 9) -> int:
    async with db.transaction() as tx:
        technician = await technicians.add(
            tx,
            person=address(telegram_id),
            name="Karim",
            phone="+8801812345678",
            services=["plumbing"],
            areas=["all"],
        )
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
    db: Database, before: OrderStatus, after: OrderStatus
) -> None:
    order_id = await place(db, ERASED, "d1")
    await set_status(db, order_id, before)
    assert await erase(db)
    order = await order_row(db, order_id)
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
    db: Database,
) -> None:
    technician = await add_technician(db)
    mine = await place(db, ERASED, "mine")
    mine_done = await place(db, ERASED, "mine-done")
    theirs = await place(db, KEPT, "theirs")
    chat = address(9)
    async with db.transaction() as tx:
        waiting = await job_offers.offer(tx, order_id=mine, technician_id=technician, chat=chat)
        finished = await job_offers.offer(
            tx, order_id=mine_done, technician_id=technician, chat=chat
        )
        other = await job_offers.offer(tx, order_id=theirs, technician_id=technician, chat=chat)
    await set_status(db, mine_done, OrderStatus.DONE)
    async with db.transaction() as tx:
        assert await job_offers.answer(tx, offer_id=finished, accept=True)

    assert await erase(db)

    async with db.read() as tx:
        statuses = dict((await tx.execute(select(_offers.c.id, _offers.c.status))).all())
    assert statuses == {
        waiting: OfferStatus.EXPIRED,
        finished: OfferStatus.ACCEPTED,
        other: OfferStatus.PENDING,
    }
    # A late Accept on the lapsed offer changes nothing.
    async with db.transaction() as tx:
        assert not await job_offers.answer(tx, offer_id=waiting, accept=True)
    assert (await order_row(db, mine)).status == OrderStatus.CANCELLED
    # The other customer's order and profile are untouched.
    kept = await order_row(db, theirs)
    assert (kept.status, kept.name, kept.phone) == (
        OrderStatus.OFFERED,
        "Rahim Zorbek",
        "+8801712345678",
    )
    async with db.read() as tx:
        assert await customers.get(tx, person=address(KEPT)) is not None
        assert await customers.get(tx, person=address(ERASED)) is None


async def test_a_session_alone_is_erased_and_reported_only_when_it_held_answers(
    db: Database,
) -> None:
    erased, kept = address(ERASED), address(KEPT)
    async with db.transaction() as tx:
        await insert(
            tx,
            ConversationSession(
                channel=erased.channel, person_id=erased.id, lang="en", flow="idle", data=None
            ),
        )
        await insert(
            tx,
            ConversationSession(
                channel=kept.channel,
                person_id=kept.id,
                lang="en",
                flow="booking",
                step="phone",
                data={"problem": "x"},
            ),
        )
    assert not await erase(db, ERASED)  # only a language choice: nothing "held"
    assert await erase(db, KEPT)
    async with db.read() as tx:
        sessions: Table = ConversationSession.__table__  # type: ignore[attr-defined]
        people: Table = Customer.__table__  # type: ignore[attr-defined]
        assert (await tx.execute(select(sessions))).first() is None
        assert (await tx.execute(select(people))).first() is None
    assert not await erase(db, KEPT)
