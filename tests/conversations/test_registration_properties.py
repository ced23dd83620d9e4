"""Property tests: any event at any step of a registration gets a safe answer, never raises."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import registration
from conversations.catalogue import AREAS, SERVICES
from conversations.events import ButtonPress, LocationShared, Payload, Text
from conversations.i18n import translator
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT
from conversations.registration import SubmitApplication
from conversations.router import Outcome
from conversations.session import IDLE, Session
from tests.conversations.flow import LANGS
from tests.conversations.registration_flow import (
    PERSON,
    begin,
    event,
    messages,
    prompt_datas,
    send,
    session_at,
    skip_label,
)
from tests.conversations.test_booking_properties import PAYLOADS as BOOKING_PAYLOADS
from tests.conversations.test_booking_properties import SCRIPT, SPECIAL_TEXTS, texts

SERVICE_SLUGS = {service.slug for service in SERVICES}
AREA_SLUGS = {area.slug for area in AREAS}
_TAGS = re.compile(r"</?(?:b|i|u|s|code|pre)>")
_ENTITIES = re.compile(r"&(?:amp|lt|gt|quot|#\d+);")


def _play(session: Session, *payloads: Payload) -> Session:
    for payload in payloads:
        session = send(session, payload).session
    return session


def _states() -> dict[str, Session]:
    """Sessions standing at every step, with and without answers chosen, in both languages."""
    states: dict[str, Session] = {}
    for lang in LANGS:
        for step in registration.STEPS:
            states[f"{lang}-{step}"] = session_at(step, lang)
        states[f"{lang}-no-first-name"] = begin(lang, first_name=None).session
        states[f"{lang}-summary-no-pin"] = session_at("summary", lang, pin=False)
        services = states[f"{lang}-services"]
        states[f"{lang}-services-chosen"] = _play(
            services,
            ButtonPress("rg:services:t:plumbing", "1"),
            ButtonPress("rg:services:t:ac-servicing", "1"),
        )
        areas = states[f"{lang}-areas"]
        states[f"{lang}-areas-page-3"] = _play(
            areas, ButtonPress("rg:areas:page:3", "1"), ButtonPress("rg:areas:t:keraniganj", "1")
        )
        states[f"{lang}-areas-all"] = _play(areas, ButtonPress("rg:areas:all", "1"))
        # A summary of hostile answers is shown again on every event at that step.
        states[f"{lang}-hostile-summary"] = _play(
            begin(lang, first_name=SCRIPT).session,
            Text(f"{SCRIPT} & <b>"),
            Text("+880 1712-345678"),
            ButtonPress("rg:services:t:repairs", "1"),
            ButtonPress("rg:services:done", "1"),
            ButtonPress("rg:areas:all", "1"),
            ButtonPress("rg:areas:done", "1"),
            Text(skip_label(lang)),
        )
    for key, session in states.items():
        assert session.flow == registration.FLOW, key
        assert session.step in registration.STEPS, key
    assert states["en-hostile-summary"].step == "summary"
    return states


STATES = _states()


def _valid_data() -> list[str]:
    found = {data for session in STATES.values() for data in prompt_datas(session)}
    found |= {f"rg:areas:page:{n}" for n in range(-1, 6)}
    found |= {f"rg:services:t:{slug}" for slug in SERVICE_SLUGS}
    found |= {f"rg:areas:t:{slug}" for slug in AREA_SLUGS}
    found |= {f"rg:{step}:back" for step in registration.STEPS}
    found |= {"rg:summary:submit", "rg:summary:cancel", "av:on", "op:ok:1", "bk:area:mirpur"}
    return sorted(found)


VALID_DATA = _valid_data()
LABELS = sorted({translator(lang)._(label) for lang in LANGS for label in ("◀ Back", "Skip ▶")})
button_data = st.one_of(
    st.text(max_size=80),
    st.sampled_from(VALID_DATA),
    st.builds(
        lambda step, parts: ":".join(("rg", step, *parts)),
        st.sampled_from(registration.STEPS) | st.text(max_size=10),
        st.lists(st.text(max_size=12) | st.sampled_from(["t", "page", "done", "all"]), max_size=4),
    ),
    st.builds(lambda data, tail: data + tail, st.sampled_from(VALID_DATA), st.text(max_size=20)),
)
PAYLOADS = {
    **BOOKING_PAYLOADS,
    "text": st.builds(Text, texts | st.sampled_from(LABELS)),
    "button": st.builds(
        ButtonPress, button_data, st.none() | st.integers(-(2**63), 2**63 - 1).map(str)
    ),
}


def _mentions_script(payload: Payload) -> bool:
    return "<script" in repr(payload).lower()


def check_outcome(session: Session, payload: Payload, outcome: Outcome) -> None:
    sent = messages(outcome)
    # Submitting is the one answer without a message: the caller stores the application and
    # then says it was sent (app/technicians.py).
    assert sent or any(isinstance(action, SubmitApplication) for action in outcome.actions)
    new = outcome.session
    assert new.person == session.person
    assert new.lang == session.lang
    assert new.flow in {registration.FLOW, IDLE}
    if new.flow == IDLE:
        assert (new.step, new.data) == ("", {})
    else:
        assert new.step in registration.STEPS
        services = new.data.get("services", [])
        assert set(services) <= SERVICE_SLUGS and len(set(services)) == len(services)
        areas = new.data.get("areas", [])
        assert areas == ["all"] or (set(areas) <= AREA_SLUGS and len(set(areas)) == len(areas))
    for message in sent:
        assert 0 < len(message.text) <= MAX_TEXT
        assert "<" not in _TAGS.sub("", message.text), message.text
        assert "&" not in _ENTITIES.sub("", message.text), message.text
        for row in message.buttons:
            for button in row:
                assert len(button.data.encode()) <= MAX_BUTTON_DATA
    if _mentions_script(payload):
        assert all("<script" not in message.text.lower() for message in sent)
    for action in outcome.actions:
        application = action.application
        assert application.services and set(application.services) <= SERVICE_SLUGS
        assert application.areas == ("all",) or set(application.areas) <= AREA_SLUGS
        assert application.areas
        assert re.fullmatch(r"\+8801[3-9]\d{8}", application.phone)
        assert 0 < len(application.name) <= registration.MAX_NAME
        assert (application.latitude is None) == (application.longitude is None)
        if application.latitude is not None and application.longitude is not None:
            assert math.isfinite(application.latitude) and -90 <= application.latitude <= 90
            assert math.isfinite(application.longitude)
            assert -180 <= application.longitude <= 180
        assert application.lang == session.lang


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
@settings(
    max_examples=600,
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

    outcome = registration.handle(session, event(payload))

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
    first_name=st.none() | st.text(max_size=80) | st.just(SCRIPT),
    payloads=st.lists(
        st.one_of(
            st.builds(Text, st.text(max_size=40) | st.sampled_from([*SPECIAL_TEXTS, *LABELS])),
            st.builds(
                ButtonPress, st.sampled_from(VALID_DATA), st.none() | st.integers(0, 99).map(str)
            ),
            st.builds(LocationShared, st.floats(-90, 90), st.floats(-180, 180)),
            PAYLOADS["command"],
            PAYLOADS["contact"],
            PAYLOADS["location"],
            PAYLOADS["unsupported"],
        ),
        max_size=40,
    ),
)
def test_any_sequence_of_events_keeps_the_registration_consistent(
    lang: str, first_name: str | None, payloads: list[Payload]
) -> None:
    start = registration.start(Session(PERSON, lang), first_name)
    check_outcome(Session(PERSON, lang), Text(""), start)
    session = start.session
    for payload in payloads:
        if session.flow == IDLE:
            break
        outcome = registration.handle(session, event(payload))
        check_outcome(session, payload, outcome)
        session = outcome.session
