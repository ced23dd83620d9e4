"""Technicians' applications, decisions and availability, and how matching reads them."""

from __future__ import annotations

import asyncio

from channels.telegram.inbound import address
from storage import matching, technicians
from storage.crypto import keyring
from storage.database import Database

TELEGRAM_ID = 9_100_001
PHONE = "+8801812345678"


async def apply(
    db: Database,
    telegram_id: int = TELEGRAM_ID,
    services: tuple[str, ...] = ("plumbing",),
    pin: tuple[float, float] | None = (23.81, 90.41),
) -> technicians.Applied:
    async with db.transaction() as tx:
        return await technicians.apply(
            tx,
            person=address(telegram_id),
            name="Sohel Rana",
            phone=PHONE,
            services=services,
            areas=("mirpur", "uttara"),
            latitude=pin[0] if pin else None,
            longitude=pin[1] if pin else None,
            lang="bn",
        )


async def matched(db: Database) -> int | None:
    async with db.read() as tx:
        found = await matching.match(tx, service="plumbing", area="mirpur")
    return None if found is None else found.id


async def decide(db: Database, technician_id: int, *, approve: bool) -> bool:
    async with db.transaction() as tx:
        return await technicians.decide(tx, technician_id=technician_id, approve=approve)


async def test_an_application_is_stored_pending_and_gets_no_offers(db: Database) -> None:
    applied = await apply(db)
    assert applied.stored and applied.status == "pending"
    async with db.read() as tx:
        found = await technicians.find(tx, person=address(TELEGRAM_ID))
    assert found is not None and found.id == applied.technician_id
    assert (found.name, found.phone, found.lang) == ("Sohel Rana", PHONE, "bn")
    assert found.phone_index == keyring().blind_index(PHONE)
    assert (found.base_latitude, found.base_longitude) == (23.81, 90.41)
    assert found.services == "plumbing" and found.areas == "mirpur,uttara"
    assert found.active and found.available
    assert await matched(db) is None

    assert await decide(db, applied.technician_id, approve=True)
    assert await matched(db) == applied.technician_id


async def test_a_second_application_keeps_the_first_standing(db: Database) -> None:
    first = await apply(db)
    again = await apply(db, services=("masonry",))
    assert not again.stored and again.status == "pending"
    assert again.technician_id == first.technician_id
    assert await decide(db, first.technician_id, approve=True)
    approved = await apply(db, services=("masonry",))
    assert not approved.stored and approved.status == "approved"
    async with db.read() as tx:
        found = await technicians.find(tx, person=address(TELEGRAM_ID))
    assert found is not None and found.services == "plumbing"


async def test_a_rejected_applicant_applies_again_on_the_same_row(db: Database) -> None:
    first = await apply(db)
    assert await decide(db, first.technician_id, approve=False)
    assert await matched(db) is None
    renewed = await apply(db, services=("plumbing", "masonry"), pin=None)
    assert renewed.stored and renewed.status == "pending"
    assert renewed.technician_id == first.technician_id
    async with db.read() as tx:
        found = await technicians.find(tx, person=address(TELEGRAM_ID))
    assert found is not None
    assert found.services == "plumbing,masonry" and found.base_latitude is None


async def test_a_decision_is_taken_once(db: Database) -> None:
    applied = await apply(db)
    results = await asyncio.gather(
        decide(db, applied.technician_id, approve=True),
        decide(db, applied.technician_id, approve=False),
    )
    assert sorted(results) == [False, True]
    assert not await decide(db, applied.technician_id, approve=True)
    assert not await decide(db, 999, approve=True)


async def test_availability_switches_offers_for_approved_technicians_only(
    db: Database,
) -> None:
    applied = await apply(db)
    async with db.transaction() as tx:
        pending = await technicians.set_available(tx, person=address(TELEGRAM_ID), available=False)
    assert pending is None
    await decide(db, applied.technician_id, approve=True)
    async with db.transaction() as tx:
        away = await technicians.set_available(tx, person=address(TELEGRAM_ID), available=False)
    assert away is not None and not away.available
    assert await matched(db) is None
    async with db.transaction() as tx:
        back = await technicians.set_available(tx, person=address(TELEGRAM_ID), available=True)
        nobody = await technicians.set_available(tx, person=address(1), available=True)
    assert back is not None and back.available and nobody is None
    assert await matched(db) == applied.technician_id
