"""The area a customer's saved address was booked in, found from their orders."""

from __future__ import annotations

from datetime import date

from channels.telegram.inbound import address
from storage import customer_lookup, customers, orders
from storage.database import Database

PERSON = address(42)


async def book(
    db: Database,
    draft: str,
    *,
    area: str,
    home: str | None,
    area_other: str | None = None,
    pin: tuple[float, float] | None = None,
) -> None:
    """Save the customer's details and store an order with them, as a confirmed booking does."""
    latitude, longitude = pin if pin else (None, None)
    async with db.transaction() as tx:
        customer_id = await customers.save_details(
            tx,
            person=PERSON,
            lang="en",
            name="Rahim",
            phone="+8801712345678",
            address=home,
            latitude=latitude,
            longitude=longitude,
        )
        await orders.place(
            tx,
            draft_id=draft,
            customer_id=customer_id,
            lang="en",
            service="plumbing",
            area=area,
            area_other=area_other,
            address=home,
            latitude=latitude,
            longitude=longitude,
            phone="+8801712345678",
            name="Rahim",
            problem=None,
            visit_date=date(2026, 11, 25),
            visit_part="evening",
        )


async def area_of_saved(db: Database) -> tuple[str, str | None] | None:
    async with db.read() as tx:
        profile = await customers.profile(tx, person=PERSON)
        return await customer_lookup.saved_address_area(tx, person=PERSON, profile=profile)


async def test_a_new_customer_has_no_saved_address_area(db: Database) -> None:
    assert await area_of_saved(db) is None


async def test_the_saved_address_has_the_area_of_its_order(db: Database) -> None:
    await book(db, "d1", area="mirpur", home="House 1, Road 2, Mirpur 10")
    assert await area_of_saved(db) == ("mirpur", None)
    # The next booking, in Dhanmondi with another address, moves the saved address there.
    await book(db, "d2", area="dhanmondi", home="Flat 4A, Road 27, Dhanmondi")
    assert await area_of_saved(db) == ("dhanmondi", None)


async def test_a_pin_and_a_typed_area_are_matched_too(db: Database) -> None:
    await book(db, "d1", area="other", area_other="Aftabnagar", home=None, pin=(23.76, 90.44))
    assert await area_of_saved(db) == ("other", "Aftabnagar")


async def test_an_address_corrected_since_its_order_has_no_known_area(db: Database) -> None:
    await book(db, "d1", area="mirpur", home="House 1, Road 2, Mirpur 10")
    async with db.transaction() as tx:
        await customers.correct_details(tx, person=PERSON, changes={"address": "Somewhere new"})
    assert await area_of_saved(db) is None
