"""Job messages: the later messages showing a contact are kept per accepted offer, once."""

from sqlalchemy import Table, update

from channels.telegram.inbound import address
from storage import job_messages
from storage.database import Database
from storage.models import JobOffer
from tests.storage.helpers import accept, add, offer, place_order

TECHNICIAN = 900_000_001
OTHER = 900_000_002
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]


async def test_views_are_found_with_the_offer_and_kept_once(db: Database) -> None:
    karim = await add(db, TECHNICIAN, "+8801812345678")
    order = await place_order(db, "d1")
    offer_id = await offer(db, order.id, karim, TECHNICIAN)
    await accept(db, offer_id, order.id, karim)
    # On a SQLite file, through the database's own connection for small writes (PostgreSQL:
    # in a transaction of their own on the engine).
    assert (db.path is not None) == (db.dialect == "sqlite")
    changed = await db.write(job_messages.views([(offer_id, "70"), (offer_id, "71")]))
    # The same message again (an edit keeps its id) adds nothing.
    again = await db.write(job_messages.views([(offer_id, "70")]))
    assert (changed, again) == ([1, 1], [0])

    async with db.read() as tx:
        [found] = await job_messages.of_orders(tx, order_ids=[order.id])
    assert (found.offer_id, found.chat, found.notice_id) == (
        offer_id,
        address(TECHNICIAN),
        str(10 + order.id),
    )
    assert found.view_ids == ("70", "71")


async def offered(db: Database, **changed: object) -> tuple[int, int]:
    """Offer an order to Karim, the offer then ``changed``; return the order and offer ids."""
    karim = await add(db, TECHNICIAN, "+8801812345678")
    order = await place_order(db, "d1")
    offer_id = await offer(db, order.id, karim, TECHNICIAN)
    async with db.transaction() as tx:
        await tx.execute(update(_offers).where(_offers.c.id == offer_id).values(**changed))
    return order.id, offer_id


async def test_an_offer_with_only_views_is_still_found(db: Database) -> None:
    order_id, offer_id = await offered(db, message_id=None)
    async with db.transaction() as tx:
        # In the caller's transaction, as the non-SQLite engines run them.
        await tx.run_all(job_messages.views([(offer_id, "80")]))
        [found] = await job_messages.of_orders(tx, order_ids=[order_id])
    assert (found.notice_id, found.view_ids) == (None, ("80",))


async def test_no_view_is_kept_for_a_technician_who_left(db: Database) -> None:
    # What technician erasure leaves on their offers: no chat.
    order_id, offer_id = await offered(db, chat_id=None)
    # Through the engine's own transaction (no dedicated connection), as elsewhere than SQLite.
    engine_only = Database(db.engine, dedicated=False)
    assert await engine_only.write(job_messages.views([(offer_id, "90")])) == [0]
    async with db.read() as tx:
        assert await job_messages.of_orders(tx, order_ids=[order_id]) == ()


async def test_accepted_offers_names_the_latest_accepted_offer_of_that_technician(
    db: Database,
) -> None:
    karim = await add(db, TECHNICIAN, "+8801812345678")
    jamal = await add(db, OTHER, "+8801912345678")
    first = await place_order(db, "d1")
    second = await place_order(db, "d2")
    declined = await offer(db, first.id, jamal, OTHER)  # never accepted
    given_back = await offer(db, first.id, karim, TECHNICIAN)
    await accept(db, given_back, first.id, karim)
    again = await offer(db, first.id, karim, TECHNICIAN)
    await accept(db, again, first.id, karim)
    pending = await offer(db, second.id, karim, TECHNICIAN)
    async with db.read() as tx:
        karims = await job_messages.accepted_offers(
            tx, technician_id=karim, order_ids=[first.id, second.id]
        )
        jamals = await job_messages.accepted_offers(tx, technician_id=jamal, order_ids=[first.id])
        none = await job_messages.accepted_offers(tx, technician_id=karim, order_ids=[])
    assert karims == {first.id: again}
    assert jamals == {} and none == {}
    assert declined and pending
