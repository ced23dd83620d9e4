"""What several storage tests set up the same way."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import customers, orders, technicians
from storage.engine import session_factory
from storage.models import Order, OrderStatus


async def place_order(
    engine: AsyncEngine, draft: str, telegram_id: int = 42, area: str = "mirpur"
) -> orders.StoredOrder:
    """Store a plumbing order in ``area`` for customer ``telegram_id``, as a booking would."""
    async with engine.begin() as conn:
        customer_id = await customers.save_details(
            conn,
            telegram_id=telegram_id,
            lang="en",
            name="Rahim",
            phone="+8801712345678",
            address="House 1",
            latitude=None,
            longitude=None,
        )
        order, _ = await orders.place(
            conn,
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


async def add(engine: AsyncEngine, telegram_id: int, phone: str) -> int:
    """Register an approved plumber for every area, with a base pin; return their id."""
    async with session_factory(engine)() as db:
        technician = await technicians.add(
            db,
            telegram_id=telegram_id,
            name="Karim Uddin",
            phone=phone,
            services=["plumbing"],
            areas=["all"],
        )
        # A registered technician's base pin (encrypted): erased with the rest.
        technician.base_latitude, technician.base_longitude = 23.81, 90.41
        db.add(technician)
        await db.commit()
        return technician.id or 0


async def offer(engine: AsyncEngine, order_id: int, technician_id: int, chat: int) -> int:
    """Offer an order to a technician, its notice sent as message 10 + order id."""
    async with engine.begin() as conn:
        offer_id = await orders.offer(
            conn, order_id=order_id, technician_id=technician_id, chat_id=chat
        )
        await orders.set_offer_message(conn, offer_id=offer_id, message_id=10 + order_id)
    return offer_id


async def accept(engine: AsyncEngine, offer_id: int, order_id: int, technician_id: int) -> None:
    """Accept an offer and assign its order, as the Accept button does."""
    async with session_factory(engine)() as db:
        assert await orders.answer(await db.connection(), offer_id=offer_id, accept=True)
        await db.exec(
            update(Order)
            .where(Order.id == order_id)
            .values(status=OrderStatus.ASSIGNED, technician_id=technician_id)
        )
        await db.commit()
