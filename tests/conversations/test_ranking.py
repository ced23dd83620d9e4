"""Ranking of candidate technicians: load, then distance, then waiting time, then rating."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from conversations.ranking import Candidate, distance_km, rank

MIRPUR = (23.8223, 90.3654)
UTTARA = (23.8759, 90.3795)
MOTIJHEEL = (23.7330, 90.4172)
T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


def ids(candidates: list[Candidate]) -> list[int]:
    return [candidate.technician_id for candidate in candidates]


def test_fewest_open_jobs_come_first_whatever_the_distance() -> None:
    busy_near = Candidate(1, open_jobs=2, base=MIRPUR)
    free_far = Candidate(2, open_jobs=0, base=MOTIJHEEL)
    assert ids(rank([busy_near, free_far], MIRPUR)) == [2, 1]


def test_among_equally_busy_the_nearest_base_wins() -> None:
    far, near = Candidate(1, 1, base=MOTIJHEEL), Candidate(2, 1, base=UTTARA)
    assert ids(rank([far, near], MIRPUR)) == [2, 1]


def test_a_known_distance_beats_an_unknown_one() -> None:
    unknown, known = Candidate(1, 0), Candidate(2, 0, base=MOTIJHEEL)
    assert ids(rank([unknown, known], MIRPUR)) == [2, 1]


def test_without_a_pin_the_longest_waiting_goes_first_and_never_offered_first_of_all() -> None:
    recent = Candidate(1, 0, base=MIRPUR, last_offered_at=T0)
    earlier = Candidate(2, 0, base=MIRPUR, last_offered_at=T0 - timedelta(hours=3))
    never = Candidate(3, 0, base=MIRPUR)
    assert ids(rank([recent, earlier, never], None)) == [3, 2, 1]


def test_rating_breaks_the_remaining_ties_then_registration_order() -> None:
    low, high, unrated = Candidate(5, 0, rating=3.0), Candidate(7, 0, rating=4.8), Candidate(6, 0)
    assert ids(rank([low, unrated, high], None)) == [7, 5, 6]


def test_distance_is_in_kilometres() -> None:
    assert 9 < distance_km(MIRPUR, MOTIJHEEL) < 12
    assert distance_km(UTTARA, UTTARA) == 0


@given(
    st.lists(
        st.builds(
            Candidate,
            technician_id=st.integers(1, 10_000),
            open_jobs=st.integers(0, 5),
            base=st.none() | st.tuples(st.floats(23.6, 24.0), st.floats(90.2, 90.6)),
            rating=st.none() | st.floats(1, 5),
        ),
        max_size=30,
    ),
    st.none() | st.tuples(st.floats(23.6, 24.0), st.floats(90.2, 90.6)),
)
def test_ranking_keeps_everyone_and_never_puts_a_busier_technician_first(
    candidates: list[Candidate], pin: tuple[float, float] | None
) -> None:
    ranked = rank(candidates, pin)
    assert sorted(ids(ranked)) == sorted(ids(candidates))
    loads = [candidate.open_jobs for candidate in ranked]
    assert loads == sorted(loads)
