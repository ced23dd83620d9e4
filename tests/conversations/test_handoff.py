"""Talk to a person: the recogniser, the flow over a booking, support hours, the texts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import booking, common, handoff, router
from conversations.events import ButtonPress, Command, ContactShared, Text
from conversations.handoff import texts
from conversations.handoff.recognise import asks_for_person
from conversations.hours import parse_hours
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, Outbound
from conversations.session import IDLE, Context, Session
from tests.conversations.flow import (
    ADDRESS_TEXT,
    CTX,
    LANGS,
    NAME_TEXT,
    PERSON,
    PHONE_TEXT,
    PROBLEM_TEXT,
    begin,
    event,
    session_at,
)

REQUESTS = [
    "I want to talk to a person",
    "talk to a human please",
    "Human!",
    "agent",
    "operator",
    "Can I speak to someone?",
    "I'd like to speak with a real person",
    "customer care",
    "talk to a person about my order",
    "মানুষ",
    "মানুষের সাথে কথা",
    "মানুষের সাথে কথা বলতে চাই।",
    "কথা বলতে চাই",
    "আমি একজন মানুষের সঙ্গে কথা বলতে চাই",
    "এজেন্ট",
    "অপারেটর প্লিজ",
    "manusher sathe kotha bolte chai",
]

ORDINARY = [
    PROBLEM_TEXT,
    ADDRESS_TEXT,
    NAME_TEXT,
    PHONE_TEXT,
    "House 12, Road 5, Block C, Mirpur 10, near the mosque",
    "বাসা ১২, রোড ৫, মিরপুর ১০",
    "Rahim Uddin",
    "রহিম উদ্দিন",
    "Kitchen tap <b>leaking</b> & dripping",
    "send a person to fix the tap",
    "একজন মানুষ পাঠান",
    "এসি ঠান্ডা হচ্ছে না",
    "AC is not cooling, the technician should call before coming",
    "service",
    "yes",
    "⬅️ Back",
    "",
    "   ",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_plain_requests_for_a_person_are_recognised(text: str) -> None:
    assert asks_for_person(text)
    assert asks_for_person(text.upper())


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_booking_answers_are_not_requests(text: str) -> None:
    assert not asks_for_person(text)


@given(st.text(max_size=300))
def test_the_recogniser_never_crashes(text: str) -> None:
    assert asks_for_person(text) in (True, False)


_AREAS = ["Mirpur", "Uttara", "Dhanmondi", "মিরপুর", "উত্তরা", "Gulshan 2", "Banani"]
_ROADS = ["House", "Road", "Block", "Flat", "Sector", "বাসা", "রোড", "ব্লক", "লেন"]
_NAMES = ["Rahim", "Karim", "Salma", "Nadia", "Uddin", "Hossain", "রহিম", "করিম", "সালমা"]
_PROBLEM_WORDS = [
    "tap",
    "leaking",
    "pipe",
    "burst",
    "fan",
    "AC",
    "not",
    "cooling",
    "wall",
    "crack",
    "need",
    "a",
    "person",
    "to",
    "fix",
    "the",
    "please",
    "পানি",
    "পড়ছে",
    "লাইট",
    "জ্বলছে",
    "না",
    "মানুষ",
    "লাগবে",
    "কল",
]
_REQUEST_WORDS = ["a", "person", "to", "the", "please", "need", "না", "মানুষ", "লাগবে", "talk"]


@st.composite
def addresses(draw: st.DrawFn) -> str:
    parts = [
        f"{draw(st.sampled_from(_ROADS))} {draw(st.integers(1, 300))}"
        for _ in range(draw(st.integers(1, 3)))
    ]
    return ", ".join([*parts, draw(st.sampled_from(_AREAS))])


@st.composite
def names(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3)))


#: Words of a problem that are about the job (none of them a request's word).
_JOB_WORDS = [w for w in _PROBLEM_WORDS if w not in _REQUEST_WORDS]


@st.composite
def problems(draw: st.DrawFn) -> str:
    # A problem is mostly about the job: at least two such words, at least half of them all,
    # among any of a request's words ("need a person to fix the tap").
    job = draw(st.lists(st.sampled_from(_JOB_WORDS), min_size=2, max_size=8))
    extra = draw(st.lists(st.sampled_from(_REQUEST_WORDS), max_size=len(job)))
    return " ".join(draw(st.permutations(job + extra)))


@settings(max_examples=300)
@given(st.one_of(addresses(), names()))
def test_addresses_and_names_are_never_requests(text: str) -> None:
    assert not asks_for_person(text)


@settings(max_examples=300)
@given(problems())
def test_problems_are_never_requests(text: str) -> None:
    assert not asks_for_person(text)


@given(
    st.sampled_from(REQUESTS),
    st.sampled_from(["", "Hello, ", "please ", "ভাই, ", "hi! "]),
    st.sampled_from(["", "?", " please", "!!", " 🙏", "।"]),
)
def test_requests_wrapped_in_politeness_are_still_recognised(
    request: str, before: str, after: str
) -> None:
    assert asks_for_person(before + request + after)


# --- the flow over a booking ---------------------------------------------------------------


def _at_address(lang: str = "en") -> Session:
    return session_at(booking.ADDRESS, lang)


def test_a_request_mid_booking_sets_the_booking_aside_and_goes_to_the_team() -> None:
    at_address = _at_address()
    asked = event(Text("I want to talk to a person"))
    flow = router.taker(at_address, asked)
    assert flow is handoff.SPEC
    outcome = router.run(at_address, asked, CTX)
    assert outcome is not None
    assert outcome.session.flow == handoff.FLOW
    assert outcome.actions == [handoff.ToOperators("I want to talk to a person")]
    frame = outcome.session.resume
    assert frame is not None and frame["flow"] == booking.FLOW
    assert frame["step"] == booking.ADDRESS and frame["data"] == at_address.data
    # The booking's suggested answers are taken away; the way back is offered.
    first, second = outcome.reply.effects
    assert isinstance(first, Outbound) and first.remove_keys
    assert isinstance(second, Outbound)
    assert [b.data for row in second.buttons for b in row] == [texts.BACK_DATA]
    assert "booking" in second.buttons[0][0].label

    # Later messages go to the same conversation; the booking waits.
    more = router.run(outcome.session, event(Text("My AC <leaks>")), CTX)
    assert more is not None and more.session.flow == handoff.FLOW
    assert more.actions == [handoff.ToOperators("My AC <leaks>")]

    # Back: the booking returns at the address step with every answer it had.
    back = router.run(more.session, event(ButtonPress(texts.BACK_DATA, "9")), CTX)
    assert back is not None
    assert back.session.flow == booking.FLOW and back.session.step == booking.ADDRESS
    assert back.session.data == at_address.data and back.session.resume is None
    assert back.actions == []


def test_cancel_in_the_handoff_returns_to_the_booking() -> None:
    at_address = _at_address()
    talking = router.run(at_address, event(ButtonPress(common.TALK_DATA, "3")), CTX)
    assert talking is not None and talking.actions == [handoff.ToOperators(None)]
    back = router.run(talking.session, event(Command("cancel")), CTX)
    assert back is not None and back.session.flow == booking.FLOW
    assert back.session.data == at_address.data


def test_an_operators_done_gives_the_booking_back() -> None:
    at_address = _at_address("bn")
    talking = router.run(at_address, event(Text("মানুষ")), CTX)
    assert talking is not None
    closed = router.settle(handoff.closed(talking.session), CTX)
    assert closed.session.flow == booking.FLOW and closed.session.data == at_address.data
    # The closing, then the booking's question again.
    assert len(closed.reply.effects) >= 2
    first = closed.reply.effects[0]
    assert isinstance(first, Outbound)
    assert [b.data for row in first.buttons for b in row] == [common.TALK_DATA]


def test_done_outside_the_handoff_only_tells_the_customer() -> None:
    at_address = _at_address()
    closed = handoff.closed(at_address)
    assert closed.session.flow == booking.FLOW and closed.session.step == booking.ADDRESS
    assert len(closed.reply.effects) == 1


def test_a_request_when_idle_starts_without_anything_aside() -> None:
    idle = Session(PERSON, "en")
    outcome = router.run(idle, event(Text("agent")), CTX)
    assert outcome is not None and outcome.session.flow == handoff.FLOW
    assert outcome.session.resume is None
    [message] = outcome.reply.effects
    back = router.run(outcome.session, event(ButtonPress(texts.BACK_DATA, "2")), CTX)
    assert back is not None and back.session.flow == IDLE
    assert isinstance(message, Outbound) and message.buttons


def test_an_old_back_button_starts_nothing() -> None:
    at_address = _at_address()
    outcome = router.run(at_address, event(ButtonPress(texts.BACK_DATA, "1")), CTX)
    assert outcome is not None and outcome.session.flow == booking.FLOW
    assert outcome.actions == [] and outcome.reply.effects  # the address question again


def test_in_the_handoff_contacts_are_not_passed_on_and_long_texts_are_refused() -> None:
    talking = router.run(Session(PERSON, "en"), event(Text("human")), CTX)
    assert talking is not None
    shared = router.run(talking.session, event(ContactShared("+8801712345678", "1")), CTX)
    assert shared is not None and shared.actions == []
    long = router.run(talking.session, event(Text("x" * (handoff.MAX_MESSAGE + 1))), CTX)
    assert long is not None and long.actions == []
    said = " ".join(m.text for m in long.reply.effects if isinstance(m, Outbound))
    assert str(handoff.MAX_MESSAGE) in said
    # Words that would ask for a person go to the team like any other in the handoff.
    again = router.run(talking.session, event(Text("human")), CTX)
    assert again is not None and again.actions == [handoff.ToOperators("human")]


# --- support hours ---------------------------------------------------------------------------


def _ctx(hour_utc: int, minute: int = 0) -> Context:
    now = datetime(2026, 11, 24, hour_utc, minute, tzinfo=UTC)
    return Context(now=now, policy_version=CTX.policy_version, support_hours="09:00-21:00")


@pytest.mark.parametrize("lang", LANGS)
def test_inside_support_hours_nobody_is_told_to_wait(lang: str) -> None:
    [message] = texts.opened(lang, _ctx(4), aside=False, booking=False)  # 10:00 in Dhaka
    assert "09:00" not in message.text and "০৯:০০" not in message.text


def test_outside_support_hours_the_customer_is_told_when() -> None:
    [late] = texts.opened("en", _ctx(16), aside=False, booking=False)  # 22:00 in Dhaka
    assert "from 9 AM to 9 PM" in late.text and "after 9 AM tomorrow" in late.text
    [early] = texts.opened("en", _ctx(0, 30), aside=False, booking=False)  # 06:30 in Dhaka
    assert "after 9 AM today" in early.text
    [bengali] = texts.opened("bn", _ctx(16), aside=False, booking=False)
    assert "সকাল ৯টা" in bengali.text


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("09:00-21:00", "09:00", "21:00"),
        ("8:30 – 24:00", "08:30", None),
        ("00:00-23:59", "00:00", "23:59"),
    ],
)
def test_support_hours_are_read(value: str, start: str, end: str | None) -> None:
    hours = parse_hours(value)
    assert hours.start.strftime("%H:%M") == start
    assert (hours.end.strftime("%H:%M") if hours.end else None) == end


@pytest.mark.parametrize("value", ["9-21", "21:00-09:00", "09:00-24:30", "০৯:০০-২১:০০", "", "x"])
def test_wrong_support_hours_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="support hours"):
        parse_hours(value)


# --- the texts -----------------------------------------------------------------------------


def test_the_operators_get_the_words_escaped_with_language_and_orders_only() -> None:
    message = texts.to_operators(7, "bn", ("MS-ABC123",), "<b>AC</b>\nPhone: 017", first=True)
    assert "&lt;b&gt;AC&lt;/b&gt;" in message.text and "<b>AC" not in message.text
    # Each line of the customer's words is set apart: it cannot pass for a line of ours.
    assert "\n│ Phone: 017" in message.text
    assert "#7" in message.text and "MS-ABC123" in message.text and "বাংলা" in message.text
    assert [b.data for row in message.buttons for b in row] == ["op:hd:7"]
    assert texts.parse_done("op:hd:7") == 7
    assert texts.parse_done("op:hd:x") is None and texts.parse_done("op:hd:১") is None
    without = texts.to_operators(8, "en", (), None, first=False)
    assert "none open" in without.text


@pytest.mark.parametrize("lang", LANGS)
def test_an_answer_from_the_team_is_escaped_and_offers_a_reply(lang: str) -> None:
    message = texts.from_team(lang, "Hello <Rahim> & co\nsee you " + "x" * 5000)
    assert "&lt;Rahim&gt; &amp; co" in message.text and len(message.text) <= MAX_TEXT
    assert [b.data for row in message.buttons for b in row] == [texts.OPEN_DATA]


# --- item 3: every mention of reaching us ---------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_help_and_apologies_offer_a_person(lang: str) -> None:
    for message in (common.help_text(lang, None, None), common.error_apology(lang)):
        assert [b.data for row in message.buttons for b in row] == [common.TALK_DATA]
        for row in message.buttons:
            assert all(len(b.data.encode()) <= MAX_BUTTON_DATA for b in row)


@pytest.mark.parametrize("lang", LANGS)
def test_declining_consent_shows_the_number_when_there_is_one(lang: str) -> None:
    ctx = Context(now=CTX.now, policy_version=CTX.policy_version, support_phone="+8809612345678")
    with_phone = common.consent_declined(lang, ctx)
    phone = "+৮৮০৯৬১২৩৪৫৬৭৮" if lang == "bn" else "+8809612345678"
    assert phone in with_phone.text
    without = common.consent_declined(lang, CTX)
    assert "961" not in without.text and "৯৬১" not in without.text
    if lang == "en":
        assert "call" not in without.text.casefold()
    assert [b.data for row in without.buttons for b in row] == [common.TALK_DATA]


def test_declining_consent_in_the_booking_says_how_to_reach_us() -> None:
    session = begin("en").session
    assert session.step == booking.CONSENT
    ctx = Context(now=CTX.now, policy_version=CTX.policy_version, support_phone="+8809612345678")
    outcome = router.run(session, event(ButtonPress("bk:consent:no", "1")), ctx)
    assert outcome is not None and outcome.session.flow == IDLE
    said = " ".join(m.text for m in outcome.reply.effects if isinstance(m, Outbound))
    assert "+8809612345678" in said and "you can also call us" not in said
