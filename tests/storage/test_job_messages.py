"""Job messages: the later messages showing a contact are kept per accepted offer, once."""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import job_messages, prepared
from storage.models import JobOffer
from storage.writes import Writes
from tests.storage.helpers import accept, add, offer, place_order

TECHNICIAN = 900_000_001
OTHER = 900_000_002


async def test_views_are_found_with_the_offer_and_kept_once(engine: AsyncEngine) -> None:
    karim = await add(engine, TECHNICIAN, "+8801812345678")
    order = await place_order(engine, "d1")
    offer_id = await offer(engine, order.id, karim, TECHNICIAN)
    await accept(engine, offer_id, order.id, karim)
    writes = Writes(engine, direct=True)
    try:
        changed = await writes(job_messages.views([(offer_id, 70), (offer_id, 71)]))
        # The same message again (an edit keeps its id) adds nothing.
        again = await writes(job_messages.views([(offer_id, 70)]))
    finally:
        writes.close()
    assert (changed, again) == ([1, 1], [0])

    async with engine.connect() as conn:
        [found] = await job_messages.of_orders(conn, order_ids=[order.id])
    assert (found.offer_id, found.chat_id, found.notice_id) == (
        offer_id,
        TECHNICIAN,
        10 + order.id,
    )
    assert found.view_ids == (70, 71)


async def offered(engine: AsyncEngine, **changed: object) -> tuple[int, int]:
    """Offer an order to Karim, the offer then ``changed``; return the order and offer ids."""
    karim = await add(engine, TECHNICIAN, "+8801812345678")
    order = await place_order(engine, "d1")
    offer_id = await offer(engine, order.id, karim, TECHNICIAN)
    async with engine.begin() as conn:
        await conn.execute(
            update(JobOffer).where(JobOffer.id == offer_id).values(**changed)  # type: ignore[arg-type]
        )
    return order.id, offer_id


async def test_an_offer_with_only_views_is_still_found(engine: AsyncEngine) -> None:
    order_id, offer_id = await offered(engine, message_id=None)
    async with engine.begin() as conn:
        # In the caller's transaction, as the non-SQLite engines run them.
        await prepared.run_all(conn, job_messages.views([(offer_id, 80)]))
        [found] = await job_messages.of_orders(conn, order_ids=[order_id])
    assert (found.notice_id, found.view_ids) == (None, (80,))


async def test_no_view_is_kept_for_a_technician_who_left(engine: AsyncEngine) -> None:
    # What technician erasure leaves on their offers: no chat.
    order_id, offer_id = await offered(engine, chat_id=-1)
    writes = Writes(engine, direct=False)
    assert await writes(job_messages.views([(offer_id, 90)])) == [0]
    async with engine.connect() as conn:
        assert await job_messages.of_orders(conn, order_ids=[order_id]) == ()


async def test_accepted_offers_names_the_latest_accepted_offer_of_that_technician(
    engine: AsyncEngine,
) -> None:
    karim = await add(engine, TECHNICIAN, "+8801812345678")
    jamal = await add(engine, OTHER, "+8801912345678")
    first = await place_order(engine, "d1")
    second = await place_order(engine, "d2")
    declined = await offer(engine, first.id, jamal, OTHER)  # never accepted
    given_back = await offer(engine, first.id, karim, TECHNICIAN)
    await accept(engine, given_back, first.id, karim)
    again = await offer(engine, first.id, karim, TECHNICIAN)
    await accept(engine, again, first.id, karim)
    pending = await offer(engine, second.id, karim, TECHNICIAN)
    async with engine.connect() as conn:
        karims = await job_messages.accepted_offers(
            conn, technician_id=karim, order_ids=[first.id, second.id]
        )
        jamals = await job_messages.accepted_offers(
            conn, technician_id=jamal, order_ids=[first.id]
        )
        none = await job_messages.accepted_offers(conn, technician_id=karim, order_ids=[])
    assert karims == {first.id: again}
    assert jamals == {} and none == {}
    assert declined and pending
