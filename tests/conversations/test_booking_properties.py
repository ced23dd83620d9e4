"""Property tests: any event, at any step of a booking, gets a safe answer and never raises."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import booking
from conversations.booking import PlaceOrder
from conversations.catalogue import AREAS, SERVICES
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    LocationShared,
    Payload,
    Text,
    Unsupported,
)
from conversations.i18n import translator
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT
from conversations.router import Outcome
from conversations.session import BOOKING, IDLE, Profile, Session
from tests.conversations.flow import (
    CTX,
    LANGS,
    PERSON,
    RETURNING,
    USER,
    event,
    messages,
    prompt_datas,
    send,
    session_at,
)

SCRIPT = "<script>alert(1)</script>"
PROMPTED = {
    "consent",
    "service",
    "problem",
    "area",
    "area_other",
    "address",
    "phone",
    "name",
    "time",
    "summary",
}


def _play(session: Session, *payloads: Payload) -> Session:
    for payload in payloads:
        session = send(session, payload).session
    return session


def _states() -> dict[str, Session]:
    """Sessions standing at every step, reached by playing the flow."""
    states: dict[str, Session] = {}
    profiles: tuple[tuple[str, Profile | None], ...] = (("new", None), ("returning", RETURNING))
    for lang in LANGS:
        for who, profile in profiles:
            for step in sorted(PROMPTED - {"consent"}):
                states[f"{lang}-{who}-{step}"] = session_at(step, lang, profile)
            summary = states[f"{lang}-{who}-summary"]
            states[f"{lang}-{who}-area-page-3"] = _play(
                states[f"{lang}-{who}-area"], ButtonPress("bk:area:page:3", "1")
            )
            states[f"{lang}-{who}-edit-menu"] = _play(summary, ButtonPress("bk:summary:edit"))
            for step in booking.EDITABLE:
                states[f"{lang}-{who}-editing-{step}"] = _play(
                    summary, ButtonPress(f"bk:summary:edit:{step}")
                )
            states[f"{lang}-{who}-editing-area_other"] = _play(
                summary, ButtonPress("bk:summary:edit:area"), ButtonPress("bk:area:other")
            )
        states[f"{lang}-consent"] = session_at("consent", lang)
        # A summary of hostile answers (and a pin instead of an address) is shown again on
        # every event at that step: it must stay escaped.
        states[f"{lang}-hostile-summary"] = _play(
            session_at("problem", lang),
            Text(f"{SCRIPT} & <b>"),
            ButtonPress("bk:area:other"),
            Text(f"{SCRIPT} zone"),
            LocationShared(23.7, 90.4),
            Text("01712345678"),
            Text(f"{SCRIPT} name"),
            ButtonPress("bk:time:20261126-evening"),
        )
    for key, session in states.items():
        assert session.flow == BOOKING, key
        assert session.step in PROMPTED, key
    assert states["en-hostile-summary"].step == "summary"
    return states


STATES = _states()


def _valid_data() -> list[str]:
    found = {data for session in STATES.values() for data in prompt_datas(session)}
    found |= {f"bk:area:page:{n}" for n in range(-1, 6)}
    found |= {f"bk:summary:edit:{step}" for step in (*booking.EDITABLE, "consent", "x")}
    found |= {"bk:address:saved", "bk:phone:saved", "bk:summary:view", "bk:consent:policy"}
    found |= {
        f"bk:time:2026112{day}-{part}" for day in range(3, 8) for part in ("morning", "noon")
    }
    return sorted(found)


VALID_DATA = _valid_data()
BACK_LABELS = sorted({translator(lang)._("◀ Back") for lang in LANGS})
SPECIAL_TEXTS = [
    "",
    " ",
    "\n\n",
    "\u202e",
    "\u202ecod.exe",
    "\x00\x01\x1b[31m",
    "\ufeff\u200b",
    "ক্\u200dষ",
    SCRIPT,
    "<b>bold</b>",
    "&",
    "&amp;",
    "/book",
    "01712345678",
    "০১৭১২৩৪৫৬৭৮",
    "+880 1712-345678",
    *BACK_LABELS,
    *(service.label(lang) for service in SERVICES for lang in LANGS),
    *(name for area in AREAS[:5] for name in (area.bn, area.en, area.slug)),
]

texts = st.one_of(
    st.text(max_size=80),
    st.text(max_size=5000),
    st.sampled_from(SPECIAL_TEXTS),
    st.builds(lambda ch, n: ch * n, st.sampled_from("a&<ক\u202e\x00 \n🙂"), st.integers(0, 5000)),
    st.builds(lambda a, b: a + SCRIPT + b, st.text(max_size=300), st.text(max_size=300)),
)
button_data = st.one_of(
    st.text(max_size=80),
    st.sampled_from(VALID_DATA),
    st.builds(
        lambda step, parts: ":".join(("bk", step, *parts)),
        st.sampled_from(sorted(PROMPTED)) | st.text(max_size=10),
        st.lists(st.text(max_size=12), max_size=4),
    ),
    st.builds(lambda data, tail: data + tail, st.sampled_from(VALID_DATA), st.text(max_size=20)),
)
PAYLOADS = {
    "text": st.builds(Text, texts),
    "command": st.builds(Command, st.text(max_size=64) | st.just(SCRIPT), st.text(max_size=64)),
    "button": st.builds(
        ButtonPress, button_data, st.none() | st.integers(-(2**63), 2**63 - 1).map(str)
    ),
    "contact": st.builds(
        ContactShared,
        st.text(max_size=60) | st.sampled_from(["+8801712345678", "01812345678", SCRIPT]),
        st.none() | st.just(USER) | st.integers().map(str),
        st.none() | st.text(max_size=60),
    ),
    "location": st.builds(LocationShared, st.floats(), st.floats())
    | st.builds(
        LocationShared,
        st.floats(-90, 90, allow_nan=False),
        st.floats(-180, 180, allow_nan=False),
    ),
    "unsupported": st.builds(
        Unsupported,
        st.sampled_from([*booking.UNSUPPORTED_NAMES, "other", "dice"]) | st.text(max_size=20),
    ),
}

_TAGS = re.compile(r"</?(?:b|i|u|s|code|pre)>")
_ENTITIES = re.compile(r"&(?:amp|lt|gt|quot|#\d+);")


def _mentions_script(payload: Payload) -> bool:
    return "<script" in repr(payload).lower()


def check_outcome(session: Session, payload: Payload, outcome: Outcome) -> None:
    sent = messages(outcome)
    # Confirming is the one answer without a message: the caller stores the order and then
    # sends the confirmation with its reference (app/orders.py).
    assert sent or any(isinstance(action, PlaceOrder) for action in outcome.actions)
    new = outcome.session
    assert new.person == session.person
    assert new.lang == session.lang
    assert new.flow in {BOOKING, IDLE}
    if new.flow == IDLE:
        assert (new.step, new.data) == ("", {})
    else:
        assert new.step in PROMPTED
        assert new.data["draft"] == session.data["draft"]
    for message in sent:
        assert 0 < len(message.text) <= MAX_TEXT
        assert "<" not in _TAGS.sub("", message.text), message.text
        assert "&" not in _ENTITIES.sub("", message.text), message.text
        for row in message.buttons:
            for button in row:
                assert len(button.data.encode()) <= MAX_BUTTON_DATA
    if _mentions_script(payload):
        assert all("<script" not in message.text.lower() for message in sent)


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
@settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_event_at_any_step_gets_a_safe_answer(kind: str, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(STATES)), label="state")
    payload = data.draw(PAYLOADS[kind], label="payload")
    session = STATES[key]
    before = session.copy()

    outcome = booking.handle(session, event(payload), CTX)

    assert session == before  # flows never mutate what they are given
    check_outcome(session, payload, outcome)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    lang=st.sampled_from(LANGS),
    returning=st.booleans(),
    payloads=st.lists(
        st.one_of(
            # Short texts only: long answers at several steps reach the known summary overflow
            # (xfail in test_booking.py); single long texts are covered above.
            st.builds(Text, st.text(max_size=40) | st.sampled_from(SPECIAL_TEXTS)),
            st.builds(
                ButtonPress, st.sampled_from(VALID_DATA), st.none() | st.integers(0, 99).map(str)
            ),
            PAYLOADS["command"],
            PAYLOADS["contact"],
            PAYLOADS["location"],
            PAYLOADS["unsupported"],
        ),
        max_size=30,
    ),
)
def test_any_sequence_of_events_keeps_the_booking_consistent(
    lang: str, returning: bool, payloads: list[Payload]
) -> None:
    session = booking.start(
        Session(PERSON, lang), CTX, RETURNING if returning else Profile(), "Rahim"
    ).session
    for payload in payloads:
        if session.flow == IDLE:
            break
        outcome = booking.handle(session, event(payload), CTX)
        check_outcome(session, payload, outcome)
        for action in outcome.actions:
            if isinstance(action, PlaceOrder):
                draft = action.draft
                assert draft.service in {service.slug for service in SERVICES}
                assert draft.area in {area.slug for area in AREAS} | {"other"}
                assert (draft.area == "other") == (draft.area_other is not None)
                assert draft.address is not None or draft.latitude is not None
                assert re.fullmatch(r"\+8801[3-9]\d{8}", draft.phone)
                assert draft.name
                assert draft.lang == lang
        session = outcome.session
