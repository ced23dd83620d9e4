"""What several storage tests set up the same way."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import customers, orders


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
