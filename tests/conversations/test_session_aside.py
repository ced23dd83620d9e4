"""Setting a flow aside and resuming it (corrections and rating comments interrupt others).

The router does it: :func:`conversations.router.enter` sets aside what a stacking flow
interrupts (in ``Session.resume``), and :func:`conversations.router.settle` gives it back when
that flow ends.
"""

from conversations import corrections
from conversations.events import Address
from conversations.router import Outcome, enter, settle
from conversations.session import BOOKING, IDLE, Session
from tests.conversations.flow import CTX

PERSON = Address("telegram", "1")


def correcting(before: Session, step: str) -> Outcome:
    """A correction (a flow that stacks) starting at ``step`` over ``before``."""
    started = Session(PERSON, before.lang, corrections.FLOW, step, {})
    return enter(before, Outcome(started))


def ended(session: Session) -> Outcome:
    """The flow of ``session`` ends: idle, still holding what it interrupted."""
    done = session.copy()
    done.reset()
    return Outcome(done)


def test_a_booking_set_aside_comes_back_as_it_was() -> None:
    booking = Session(PERSON, "bn", BOOKING, "phone", {"service": "plumbing"})
    interrupting = correcting(booking, "name").session
    kept = interrupting.resume
    assert kept is not None
    assert (interrupting.flow, interrupting.step, interrupting.data) == (
        corrections.FLOW,
        "name",
        {},
    )
    again = correcting(interrupting, "address").session
    assert again.resume == kept  # started again: same stash
    back = settle(ended(interrupting), CTX).session
    assert (back.flow, back.step, back.data) == (BOOKING, "phone", {"service": "plumbing"})
    assert back.resume is None
    assert settle(ended(again), CTX).session == back


def test_nothing_or_a_broken_stash_resumes_to_idle() -> None:
    assert correcting(Session(PERSON), "name").session.resume is None
    for stash in (None, {"flow": "correction", "step": "x", "data": {}}, {"flow": 3}):
        interrupting = Session(PERSON, "en", corrections.FLOW, "name", {}, stash)
        back = settle(ended(interrupting), CTX).session
        assert (back.flow, back.data) == (IDLE, {}), stash
        assert back.resume is None


def test_a_stash_of_the_ending_flow_itself_resumes_to_idle() -> None:
    # The old set_aside/resumed refused a stash naming the flow that ends (here at a step it
    # does not have): no router writes one, so it is damaged and the person is idle again.
    stash = {"flow": corrections.FLOW, "step": "x", "data": {}}
    interrupting = Session(PERSON, "en", corrections.FLOW, "name", {}, stash)
    back = settle(ended(interrupting), CTX).session
    assert (back.flow, back.data) == (IDLE, {})
