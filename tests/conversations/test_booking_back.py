"""Back keeps every answer: each step shows what was answered there, kept with one tap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conversations import booking
from conversations.booking import KEYBOARD_STEPS
from conversations.digits import localize_digits
from conversations.events import ButtonPress, Payload, Text
from conversations.i18n import translator
from conversations.router import Outcome
from conversations.session import Context, Session
from tests.conversations.flow import (
    ADDRESS_TEXT,
    CTX,
    LANGS,
    NAME_TEXT,
    PHONE_TEXT,
    PROBLEM_TEXT,
    datas,
    event,
    messages,
    send,
    session_at,
)

#: The steps after consent, in order: Back walks them backwards (never back to consent).
WALK = (
    booking.SERVICE,
    booking.PROBLEM,
    booking.AREA,
    booking.ADDRESS,
    booking.PHONE,
    booking.NAME,
    booking.TIME,
    booking.SUMMARY,
)
#: What the customer sees of each step's answer on the straight path, in English.
SHOWN = {
    booking.SERVICE: "Plumbing",
    booking.PROBLEM: PROBLEM_TEXT,
    booking.AREA: "Mirpur",
    booking.ADDRESS: ADDRESS_TEXT,
    booking.PHONE: PHONE_TEXT,
    booking.NAME: NAME_TEXT,
}


def back_payload(step: str) -> Payload:
    """The Back a customer has at ``step``: the reply key on keyboard steps, else a button."""
    if step in KEYBOARD_STEPS:
        return Text(translator("en")._("◀ Back"))
    return ButtonPress(f"bk:{step}:back", "9")


def all_text(outcome: Outcome) -> str:
    return "\n".join(message.text for message in messages(outcome))


def press_back(session: Session, times: int) -> tuple[Session, Outcome]:
    outcome = send(session, back_payload(session.step))
    for _ in range(times - 1):
        outcome = send(outcome.session, back_payload(outcome.session.step))
    return outcome.session, outcome


@pytest.mark.parametrize(
    ("target", "times"),
    [
        (target, times)
        for index, target in enumerate(WALK)
        for times in range(1, index + 1)
        if target != booking.SUMMARY  # the summary has Edit, not Back
    ],
)
def test_back_then_keep_brings_every_answer_back_intact(target: str, times: int) -> None:
    # Answer everything up to ``target``, go Back ``times`` steps, then Keep forward again.
    start = session_at(target, "en")
    answered = dict(start.data)
    session, outcome = press_back(start, times)
    assert session.step == WALK[WALK.index(target) - times]
    assert session.data == answered  # Back forgets nothing
    while session.step != target:
        step = session.step
        assert f"bk:{step}:keep" in datas(outcome), step
        if step in SHOWN:
            assert SHOWN[step] in all_text(outcome), step
        outcome = send(session, ButtonPress(f"bk:{step}:keep", "10"))
        session = outcome.session
    assert session.data == answered


@pytest.mark.parametrize("lang", LANGS)
def test_back_from_the_name_shows_the_phone_already_given(lang: str) -> None:
    session, outcome = press_back(session_at(booking.NAME, lang), 1)
    assert session.step == booking.PHONE
    assert session.data["phone"] == "+8801712345678"
    offer = messages(outcome)[-1]
    assert localize_digits(PHONE_TEXT, lang) in offer.text
    assert datas([offer]) == ["bk:phone:keep"]
    kept = send(session, ButtonPress("bk:phone:keep", "11"))
    assert kept.session.step == booking.NAME
    assert kept.session.data["phone"] == "+8801712345678"


def test_the_name_step_suggests_the_name_already_given() -> None:
    session = session_at(booking.NAME, "en")
    session.data["name"] = "Rahima Begum"
    keys = messages(booking.reprompt(session, CTX))[0].keys
    assert keys[0][0].label == "Rahima Begum"


def test_a_new_answer_after_back_replaces_the_old_one() -> None:
    session, _ = press_back(session_at(booking.NAME, "en"), 1)
    outcome = send(session, Text("01812345678"))
    assert outcome.session.step == booking.NAME
    assert outcome.session.data["phone"] == "+8801812345678"


def test_a_first_visit_to_a_step_offers_nothing_to_keep() -> None:
    for step in WALK[:-1]:
        assert not any(data.endswith(":keep") for data in datas(reprompted(step))), step


def test_keep_without_an_answer_asks_the_step_again() -> None:
    session = session_at(booking.PHONE, "en")
    outcome = send(session, ButtonPress("bk:phone:keep", "12"))
    assert outcome.session.step == booking.PHONE
    assert "phone" not in outcome.session.data


def test_a_skipped_problem_offers_skip_alone() -> None:
    session = session_at(booking.PROBLEM, "en")
    skipped = send(session, ButtonPress("bk:problem:skip", "13")).session
    back, outcome = press_back(skipped, 1)
    assert back.step == booking.PROBLEM
    assert "bk:problem:keep" not in datas(outcome)


def test_keep_while_editing_goes_back_to_the_summary() -> None:
    summary = session_at(booking.SUMMARY, "en")
    editing = send(summary, ButtonPress("bk:summary:edit:phone", "14"))
    assert "bk:phone:keep" in datas(editing)
    outcome = send(editing.session, ButtonPress("bk:phone:keep", "15"))
    assert outcome.session.step == booking.SUMMARY
    assert outcome.session.data == {**summary.data}


def test_back_to_the_area_opens_the_page_of_the_area_chosen() -> None:
    area = session_at(booking.AREA, "en")
    at_address = send(area, ButtonPress("bk:area:savar", "16")).session
    back, outcome = press_back(at_address, 1)
    assert back.step == booking.AREA
    assert "bk:area:savar" in datas(outcome)
    assert "Savar" in messages(outcome)[-1].text and "bk:area:keep" in datas(outcome)


def test_a_time_that_has_passed_is_not_offered_to_keep() -> None:
    session = session_at(booking.SUMMARY, "en")
    later = Context(now=CTX.now + timedelta(days=3), policy_version=CTX.policy_version)
    editing = booking.handle(session, event(ButtonPress("bk:summary:edit:time", "17")), later)
    assert "bk:time:keep" not in datas(editing)
    outcome = booking.handle(editing.session, event(ButtonPress("bk:time:keep", "18")), later)
    assert outcome.session.step == booking.TIME


def reprompted(step: str) -> Outcome:
    return booking.reprompt(session_at(step, "en"), CTX)
