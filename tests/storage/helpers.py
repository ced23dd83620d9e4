"""What several storage tests set up the same way."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Table, update
from sqlmodel import SQLModel

from channels.telegram.inbound import address
from storage import customers, job_offers, orders, technicians
from storage.database import Database, Tx
from storage.models import Order, OrderStatus, Technician

_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]


async def insert(tx: Tx, row: SQLModel) -> Any:
    """Store ``row`` as it is (a Core insert: storage has no ORM session); return its key.

    The column types apply as they would for the repositories (encryption, times); columns
    left unset take the models' defaults.
    """
    table: Table = row.__table__  # type: ignore[attr-defined]
    values = row.model_dump()
    keys = list(table.primary_key.columns)
    for key in keys:
        if values.get(key.name) is None:
            del values[key.name]
    inserted = (await tx.execute(table.insert().values(**values).returning(*keys))).one()
    return inserted[0] if len(keys) == 1 else tuple(inserted)


async def place_order(
    db: Database, draft: str, telegram_id: int = 42, area: str = "mirpur"
) -> orders.StoredOrder:
    """Store a plumbing order in ``area`` for customer ``telegram_id``, as a booking would."""
    async with db.transaction() as tx:
        customer_id = await customers.save_details(
            tx,
            person=address(telegram_id),
            lang="en",
            name="Rahim",
            phone="+8801712345678",
            address="House 1",
            latitude=None,
            longitude=None,
        )
        order, _ = await orders.place(
            tx,
            draft_id=draft,
            customer_id=customer_id,
            lang="en",
            service="plumbing",
            area=area,
            area_other=None,
            address="House 1",
            latitude=None,
            longitude=None,
            phone="+8801712345678",
            name="Rahim",
            problem=None,
            visit_date=date(2026, 11, 25),
            visit_part="evening",
        )
    return order


async def add(db: Database, telegram_id: int, phone: str) -> int:
    """Register an approved plumber for every area, with a base pin; return their id."""
    async with db.transaction() as tx:
        technician = await technicians.add(
            tx,
            person=address(telegram_id),
            name="Karim Uddin",
            phone=phone,
            services=["plumbing"],
            areas=["all"],
        )
        # A registered technician's base pin (encrypted): erased with the rest.
        await tx.execute(
            update(_technicians)
            .where(_technicians.c.id == technician.id)
            .values(base_latitude=23.81, base_longitude=90.41)
        )
    return technician.id or 0


async def offer(db: Database, order_id: int, technician_id: int, chat: int) -> int:
    """Offer an order to a technician, its notice sent as message 10 + order id."""
    async with db.transaction() as tx:
        offer_id = await job_offers.offer(
            tx, order_id=order_id, technician_id=technician_id, chat=address(chat)
        )
        await job_offers.set_offer_message(tx, offer_id=offer_id, message_id=str(10 + order_id))
    return offer_id


async def accept(db: Database, offer_id: int, order_id: int, technician_id: int) -> None:
    """Accept an offer and assign its order, as the Accept button does."""
    async with db.transaction() as tx:
        assert await job_offers.answer(tx, offer_id=offer_id, accept=True)
        await tx.execute(
            update(_orders)
            .where(_orders.c.id == order_id)
            .values(status=OrderStatus.ASSIGNED, technician_id=technician_id)
        )
