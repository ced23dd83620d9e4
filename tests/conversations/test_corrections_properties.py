"""Property tests: any event at any question of a correction gets a safe answer, never raises."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import booking, corrections, router
from conversations.events import ButtonPress, Payload, Text
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, Outbound
from conversations.router import Outcome
from conversations.session import BOOKING, IDLE, Session
from tests.conversations.flow import CTX, LANGS, PERSON, RETURNING, event, session_at
from tests.conversations.test_booking_properties import PAYLOADS, SCRIPT, SPECIAL_TEXTS


def _states() -> dict[str, Session]:
    """Sessions at every question, from idle and from the middle of a booking."""
    states: dict[str, Session] = {}
    for lang in LANGS:
        origins = {
            "idle": Session(PERSON, lang),
            "booking-phone": session_at(booking.PHONE, lang, RETURNING),
            "booking-summary": session_at(booking.SUMMARY, lang),
        }
        for origin, session in origins.items():
            for field in corrections.FIELDS:
                states[f"{lang}-{origin}-{field}"] = corrections.start(session, field).session
    return states


STATES = _states()
ORIGINS = {key: key.rsplit("-", 1)[0] for key in STATES}
_TAGS = re.compile(r"</?(?:b|i|u|s|code|pre)>")
_ENTITIES = re.compile(r"&(?:amp|lt|gt|quot|#\d+);")
FIX_DATA = [corrections.fix_data(field) for field in corrections.FIELDS]
CORRECTION_PAYLOADS: dict[str, st.SearchStrategy[Payload]] = {
    **PAYLOADS,  # type: ignore[dict-item]
    "fix-text": st.builds(Text, st.sampled_from([*SPECIAL_TEXTS, "✖ Cancel", "Rahima Begum"])),
    "fix-button": st.builds(
        ButtonPress, st.sampled_from([*FIX_DATA, "dr:export", "dr:fix:x"]), st.none()
    ),
}


def check(session: Session, payload: Payload, outcome: Outcome) -> None:
    sent = [effect for effect in outcome.reply.effects if isinstance(effect, Outbound)]
    assert sent and len(sent) == len(outcome.reply.effects)
    new = outcome.session
    assert (new.person, new.lang) == (session.person, session.lang)
    if new.flow == corrections.FLOW:
        assert new == session  # still asking: nothing moved
        assert not outcome.actions
    else:
        # Done or cancelled: what was interrupted is back, and at most one detail is saved.
        assert len(outcome.actions) <= 1
        assert new.flow in {IDLE, BOOKING}
        resume = session.resume
        if resume is None:
            assert (new.flow, new.step, new.data) == (IDLE, "", {})
        else:
            assert (new.flow, new.step) == (resume["flow"], resume["step"])
    for action in outcome.actions:
        assert action.field in corrections.FIELDS
        if action.field == corrections.PHONE:
            assert re.fullmatch(r"\+8801[3-9]\d{8}", action.value or "")
        if action.field == corrections.NAME:
            assert action.value and len(action.value) <= booking.MAX_NAME
        if action.field == corrections.ADDRESS:
            assert (action.value is None) != (action.latitude is None)
    for message in sent:
        assert 0 < len(message.text) <= MAX_TEXT
        assert "<" not in _TAGS.sub("", message.text), message.text
        assert "&" not in _ENTITIES.sub("", message.text), message.text
        for row in message.buttons:
            for button in row:
                assert len(button.data.encode()) <= MAX_BUTTON_DATA
    if SCRIPT in repr(payload):
        assert all("<script" not in message.text.lower() for message in sent)


@pytest.mark.parametrize("kind", sorted(CORRECTION_PAYLOADS))
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_event_at_any_question_gets_a_safe_answer(kind: str, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(STATES)), label="state")
    payload = data.draw(CORRECTION_PAYLOADS[kind], label="payload")
    session = STATES[key]
    before = session.copy()

    # The correction's step, then (as the core does) what it interrupted comes back.
    outcome = router.settle(corrections.handle(session, event(payload)), CTX)

    assert session == before  # flows never mutate what they are given
    check(session, payload, outcome)


def test_every_state_is_a_question() -> None:
    assert len(STATES) == len(LANGS) * 3 * len(corrections.FIELDS)
    for key, session in STATES.items():
        assert session.flow == corrections.FLOW, key
        reprompt = corrections.reprompt(session)
        assert reprompt.reply.effects, key
        if ORIGINS[key].endswith("idle"):
            assert session.data == {} and session.resume is None
