"""Setting a flow aside and resuming it (corrections and rating comments interrupt others)."""

from conversations.session import BOOKING, IDLE, RESUME, Session, resumed, set_aside


def test_a_booking_set_aside_comes_back_as_it_was() -> None:
    booking = Session(1, "bn", BOOKING, "phone", {"service": "plumbing"})
    kept = set_aside(booking, "correction")
    interrupting = Session(1, "bn", "correction", "name", {RESUME: kept})
    assert set_aside(interrupting, "correction") == kept  # started again: same stash
    back = resumed(interrupting, "correction")
    assert (back.flow, back.step, back.data) == (BOOKING, "phone", {"service": "plumbing"})


def test_nothing_or_a_broken_stash_resumes_to_idle() -> None:
    assert set_aside(Session(1), "correction") is None
    for stash in (None, {"flow": "correction", "step": "x", "data": {}}, {"flow": 3}):
        back = resumed(Session(1, "en", "correction", "name", {RESUME: stash}), "correction")
        assert (back.flow, back.data) == (IDLE, {})
