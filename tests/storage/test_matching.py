"""Matching an order to a technician: exact slugs, base and rating read only where they count."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.telegram.inbound import address
from conversations.ranking import Candidate, rank
from storage import matching, technicians
from storage.database import Database
from storage.models import Order, Technician
from storage.sqlite import prepared
from tests.storage.helpers import place_order

MIRPUR = (23.8223, 90.3654)
UTTARA = (23.8759, 90.3795)
MOTIJHEEL = (23.7330, 90.4172)
T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


async def register(db: Database, telegram_id: int, services: str, areas: str) -> int:
    async with db.transaction() as tx:
        technician = await technicians.add(
            tx,
            person=address(telegram_id),
            name=f"T{telegram_id}",
            phone=f"+88018123456{telegram_id:02d}",
            services=services.split(","),
            areas=areas.split(","),
        )
    return technician.id or 0


async def set_base(db: Database, technician_id: int, base: tuple[float, float]) -> None:
    table = Technician.__table__  # type: ignore[attr-defined]
    async with db.transaction() as tx:
        await tx.execute(
            table.update()
            .where(table.c.id == technician_id)
            .values(base_latitude=base[0], base_longitude=base[1])
        )


async def done_job(db: Database, technician_id: int, rating: int, n: int) -> None:
    """A finished, rated job of the technician (with no offer: an old, imported one)."""
    order = await place_order(db, f"d{n}", telegram_id=4200 + n)
    async with db.transaction() as tx:
        table = Order.__table__  # type: ignore[attr-defined]
        await tx.execute(
            table.update()
            .where(table.c.id == order.id)
            .values(status="done", technician_id=technician_id, rating=rating)
        )


async def picked(db: Database, **query) -> int | None:  # type: ignore[no-untyped-def]
    async with db.read() as tx:
        technician = await matching.match(tx, **query)
    return None if technician is None else technician.id


async def test_slugs_match_whole_items_only(db: Database) -> None:
    # "kallyanpur" holds "all", "ac-servicing" is not "servicing": neither may match by text.
    kallyanpur = await register(db, 1, "ac-servicing", "kallyanpur")
    everywhere = await register(db, 2, "plumbing,electrical", "mirpur,all")
    assert await picked(db, service="plumbing", area="other") == everywhere
    assert await picked(db, service="servicing", area="kallyanpur") is None
    assert await picked(db, service="ac-servicing", area="kallyan") is None
    assert await picked(db, service="ac-servicing", area="kallyanpur") == kallyanpur
    assert await picked(db, service="electrical", area="uttara") == everywhere
    assert await picked(db, service="plumbing", area="uttara", exclude={everywhere}) is None


async def test_wildcards_in_a_slug_match_only_themselves(db: Database) -> None:
    await register(db, 1, "plumbing", "mirpur")
    assert await picked(db, service="plumbin_", area="mirpur") is None
    assert await picked(db, service="%", area="mirpur") is None
    assert await picked(db, service="plumbing", area="mirpu%") is None
    assert await picked(db, service="plumbing", area="mirpur") is not None


async def test_the_nearest_base_wins_among_equally_busy_when_the_order_has_a_pin(
    db: Database,
) -> None:
    far = await register(db, 1, "plumbing", "all")
    near = await register(db, 2, "plumbing", "all")
    unknown = await register(db, 3, "plumbing", "all")
    await set_base(db, far, MOTIJHEEL)
    await set_base(db, near, UTTARA)
    assert await picked(db, service="plumbing", area="mirpur", pin=MIRPUR) == near
    # Without a pin, distance means nothing: the earliest registered of the never-offered.
    assert await picked(db, service="plumbing", area="mirpur") == far
    # An unknown distance comes after every known one.
    assert await picked(db, service="plumbing", area="mirpur", pin=MIRPUR, exclude={near}) == far
    assert (
        await picked(db, service="plumbing", area="mirpur", pin=MIRPUR, exclude={near, far})
        == unknown
    )


async def test_a_better_average_rating_breaks_a_tie(db: Database) -> None:
    plain = await register(db, 1, "plumbing", "all")
    good = await register(db, 2, "plumbing", "all")
    await done_job(db, plain, 3, 1)
    await done_job(db, good, 5, 2)
    await done_job(db, good, 4, 3)
    assert await picked(db, service="plumbing", area="mirpur") == good
    assert await picked(db, service="plumbing", area="mirpur", exclude={good}) == plain


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN")
async def test_every_statement_of_a_match_is_answered_from_indexes(db: Database) -> None:
    statements: list[str] = []
    first = await register(db, 1, "plumbing", "all")
    await register(db, 2, "plumbing", "mirpur")
    await done_job(db, first, 4, 1)

    # SQLite's own trace (the statements with their values), so statements run through
    # storage.sqlite.prepared, which SQLAlchemy's events do not see, are captured too.
    async with db.read() as tx:
        handle = prepared.handle_of(tx.conn)
    assert handle is not None
    handle.set_trace_callback(statements.append)
    await picked(db, service="plumbing", area="mirpur", pin=MIRPUR)
    handle.set_trace_callback(None)
    plans = []
    async with db.read() as tx:
        for statement in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            result = await tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}")
            plans.append(" / ".join(row[-1] for row in result))
    # Who can take it and their open jobs: one index scan, one look-up in the open jobs.
    assert "COVERING INDEX ix_technicians_matching" in plans[0]
    assert "COVERING INDEX ix_orders_open_jobs" in plans[0]
    assert "SCAN" not in " ".join(plans)
    everything = " ".join(plans)
    assert "COVERING INDEX ix_job_offers_technician_created" in everything
    assert "COVERING INDEX ix_orders_technician_status_rating" in everything


# ------------------------------------------------------------- the pruning agrees with rank

POINTS = (MIRPUR, UTTARA, MOTIJHEEL)
candidates = st.lists(
    st.builds(
        Candidate,
        technician_id=st.integers(1, 50),
        # Few distinct values, so that ties on the earlier keys are common.
        open_jobs=st.integers(0, 2),
        base=st.none() | st.sampled_from(POINTS),
        last_offered_at=st.none() | st.sampled_from((T0, T0 + timedelta(hours=1))),
        rating=st.none() | st.sampled_from((1.0, 3.5, 4.0, 5.0)),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda candidate: candidate.technician_id,
)


def best_of(
    full: list[Candidate], pin: tuple[float, float] | None
) -> tuple[int, list[tuple[int, int]]]:
    """Run matching._best on ``full`` knowing only open jobs; (winner, (id, upto) read)."""
    by_id = {candidate.technician_id: candidate for candidate in full}
    reads: list[tuple[int, int]] = []

    async def read(ids: list[int], upto: int, likely: bool) -> dict[int, matching._Late]:
        found = {}
        for i in ids:
            reads.append((i, upto))
            truth = by_id[i]
            found[i] = matching._Late(
                truth.last_offered_at,
                truth.base if pin is not None else None,
                truth.rating if upto == matching._FULL else None,
            )
        return found

    known = [(candidate.technician_id, candidate.open_jobs) for candidate in full]
    return asyncio.run(matching._best(known, pin, read)), reads


@given(candidates, st.none() | st.sampled_from(POINTS))
def test_reading_late_only_where_it_counts_picks_what_rank_picks(
    full: list[Candidate], pin: tuple[float, float] | None
) -> None:
    winner, reads = best_of(full, pin)
    assert winner == rank(full, pin)[0].technician_id
    # Nobody's rating is read twice.
    rated = [i for i, upto in reads if upto == matching._FULL]
    assert len(rated) == len(set(rated))


def test_ratings_are_read_for_two_technicians_when_nobody_ties_on_the_wait() -> None:
    full = [
        Candidate(i, open_jobs=i % 3, base=MIRPUR, last_offered_at=T0 - timedelta(minutes=i))
        for i in range(1, 40)
    ]
    for pin in (MIRPUR, None):
        winner, reads = best_of(full, pin)
        assert winner == rank(full, pin)[0].technician_id == 39
        rated = [i for i, upto in reads if upto == matching._FULL]
        # The first one with no open job (a bound), then the one who waited longest.
        assert rated == [3, 39]
        # Busy technicians are never read at all.
        assert not {i for i, _ in reads if full[i - 1].open_jobs}


def test_among_the_never_offered_a_rated_one_is_found() -> None:
    full = [Candidate(i, 0) for i in range(1, 200)] + [Candidate(200, 0, rating=4.5)]
    winner, reads = best_of(full, None)
    assert winner == 200
    assert len([i for i, upto in reads if upto == matching._FULL]) == 200
