"""Technicians' applications, decisions and availability, and how matching reads them."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import technicians
from storage.crypto import keyring

TELEGRAM_ID = 9_100_001
PHONE = "+8801812345678"


async def apply(
    engine: AsyncEngine,
    telegram_id: int = TELEGRAM_ID,
    services: tuple[str, ...] = ("plumbing",),
    pin: tuple[float, float] | None = (23.81, 90.41),
) -> technicians.Applied:
    async with engine.begin() as conn:
        return await technicians.apply(
            conn,
            telegram_id=telegram_id,
            name="Sohel Rana",
            phone=PHONE,
            services=services,
            areas=("mirpur", "uttara"),
            latitude=pin[0] if pin else None,
            longitude=pin[1] if pin else None,
            lang="bn",
        )


async def matched(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        found = await technicians.match(conn, service="plumbing", area="mirpur")
    return None if found is None else found.id


async def decide(engine: AsyncEngine, technician_id: int, *, approve: bool) -> bool:
    async with engine.begin() as conn:
        return await technicians.decide(conn, technician_id=technician_id, approve=approve)


async def test_an_application_is_stored_pending_and_gets_no_offers(engine: AsyncEngine) -> None:
    applied = await apply(engine)
    assert applied.stored and applied.status == "pending"
    async with engine.connect() as conn:
        found = await technicians.find(conn, telegram_id=TELEGRAM_ID)
    assert found is not None and found.id == applied.technician_id
    assert (found.name, found.phone, found.lang) == ("Sohel Rana", PHONE, "bn")
    assert found.phone_index == keyring().blind_index(PHONE)
    assert (found.base_latitude, found.base_longitude) == (23.81, 90.41)
    assert found.services == "plumbing" and found.areas == "mirpur,uttara"
    assert found.active and found.available
    assert await matched(engine) is None

    assert await decide(engine, applied.technician_id, approve=True)
    assert await matched(engine) == applied.technician_id


async def test_a_second_application_keeps_the_first_standing(engine: AsyncEngine) -> None:
    first = await apply(engine)
    again = await apply(engine, services=("masonry",))
    assert not again.stored and again.status == "pending"
    assert again.technician_id == first.technician_id
    assert await decide(engine, first.technician_id, approve=True)
    approved = await apply(engine, services=("masonry",))
    assert not approved.stored and approved.status == "approved"
    async with engine.connect() as conn:
        found = await technicians.find(conn, telegram_id=TELEGRAM_ID)
    assert found is not None and found.services == "plumbing"


async def test_a_rejected_applicant_applies_again_on_the_same_row(engine: AsyncEngine) -> None:
    first = await apply(engine)
    assert await decide(engine, first.technician_id, approve=False)
    assert await matched(engine) is None
    renewed = await apply(engine, services=("plumbing", "masonry"), pin=None)
    assert renewed.stored and renewed.status == "pending"
    assert renewed.technician_id == first.technician_id
    async with engine.connect() as conn:
        found = await technicians.find(conn, telegram_id=TELEGRAM_ID)
    assert found is not None
    assert found.services == "plumbing,masonry" and found.base_latitude is None


async def test_a_decision_is_taken_once(engine: AsyncEngine) -> None:
    applied = await apply(engine)
    results = await asyncio.gather(
        decide(engine, applied.technician_id, approve=True),
        decide(engine, applied.technician_id, approve=False),
    )
    assert sorted(results) == [False, True]
    assert not await decide(engine, applied.technician_id, approve=True)
    assert not await decide(engine, 999, approve=True)


async def test_availability_switches_offers_for_approved_technicians_only(
    engine: AsyncEngine,
) -> None:
    applied = await apply(engine)
    async with engine.begin() as conn:
        pending = await technicians.set_available(conn, telegram_id=TELEGRAM_ID, available=False)
    assert pending is None
    await decide(engine, applied.technician_id, approve=True)
    async with engine.begin() as conn:
        away = await technicians.set_available(conn, telegram_id=TELEGRAM_ID, available=False)
    assert away is not None and not away.available
    assert await matched(engine) is None
    async with engine.begin() as conn:
        back = await technicians.set_available(conn, telegram_id=TELEGRAM_ID, available=True)
        nobody = await technicians.set_available(conn, telegram_id=1, available=True)
    assert back is not None and back.available and nobody is None
    assert await matched(engine) == applied.technician_id
