"""The booking state machine, step by step, in both languages.

Bengali wording is being translated while these tests are written: they assert steps, data,
button data and structure, and take any wording they compare from the catalog itself.
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import date, timedelta

import pytest

from conversations import booking
from conversations.booking import GiveConsent, OrderDraft, PlaceOrder, ShowPolicy
from conversations.catalogue import AREAS, SERVICES, Area, Service
from conversations.digits import localize_digits
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    LocationShared,
    Text,
    Unsupported,
)
from conversations.i18n import translator
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, KeyKind, Outbound
from conversations.phone import mask
from conversations.router import Outcome
from conversations.session import BOOKING, IDLE, Context, Profile, Session
from tests.conversations.flow import (
    ADDRESS_TEXT,
    CTX,
    LANGS,
    NAME_TEXT,
    NOW,
    OTHER_USER,
    PATH,
    PERSON,
    PHONE_E164,
    POLICY,
    PROBLEM_TEXT,
    RETURNING,
    USER,
    begin,
    datas,
    event,
    messages,
    prompt_datas,
    send,
    session_at,
)

STALE = "That button belongs to an earlier message. Here is where we are:"


def _(lang: str, message: str) -> str:
    return translator(lang)._(message)


def back_label(lang: str) -> str:
    return _(lang, "◀ Back")


def all_outbounds(outcomes: list[Outcome]) -> list[Outbound]:
    return [message for outcome in outcomes for message in messages(outcome)]


def assert_unchanged_reprompt(session: Session, outcome: Outcome) -> None:
    """The outcome keeps the session as it was and asks the same step again after a hint."""
    assert outcome.session == session
    assert outcome.actions == []
    again = booking.reprompt(session, CTX).reply.effects
    assert outcome.reply.effects[-len(again) :] == again
    assert len(outcome.reply.effects) == len(again) + 1


def step_datas(step: str, lang: str = "en") -> list[str]:
    return prompt_datas(session_at(step, lang))


# --- the straight path ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_every_step_in_order_then_confirm_places_the_whole_order(lang: str) -> None:
    outcome = begin(lang)
    assert outcome.session.flow == BOOKING
    assert outcome.actions == []
    steps = [outcome.session.step]
    session = outcome.session
    for expected, answer in PATH:
        assert session.step == expected
        outcome = send(session, answer)
        session = outcome.session
        steps.append(session.step)
        assert session.flow == BOOKING
    assert steps == [
        "consent",
        "service",
        "problem",
        "area",
        "address",
        "phone",
        "name",
        "time",
        "summary",
    ]
    assert datas(outcome) == ["bk:summary:confirm", "bk:summary:edit", "bk:summary:cancel"]
    draft_id = session.data["draft"]

    outcome = send(session, ButtonPress("bk:summary:confirm", "9"))

    assert outcome.session.flow == IDLE
    assert outcome.session.step == ""
    assert outcome.session.data == {}
    assert outcome.session.lang == lang
    assert outcome.actions == [
        PlaceOrder(
            OrderDraft(
                draft_id=draft_id,
                lang=lang,
                service="plumbing",
                problem=PROBLEM_TEXT,
                area="mirpur",
                area_other=None,
                address=ADDRESS_TEXT,
                latitude=None,
                longitude=None,
                phone=PHONE_E164,
                name=NAME_TEXT,
                visit_date=date(2026, 11, 25),
                visit_part="evening",
            )
        )
    ]
    assert outcome.reply.toast


@pytest.mark.parametrize("lang", LANGS)
def test_each_step_asks_with_its_own_buttons_or_keys(lang: str) -> None:
    consent = prompt_datas(session_at("consent", lang))
    assert consent == ["bk:consent:yes", "bk:consent:policy", "bk:consent:no"]
    assert prompt_datas(session_at("service", lang)) == [
        f"bk:service:{service.slug}" for service in SERVICES
    ]
    assert prompt_datas(session_at("problem", lang)) == ["bk:problem:skip", "bk:problem:back"]
    area = prompt_datas(session_at("area", lang))
    assert area[:8] == [f"bk:area:{a.slug}" for a in AREAS[:8]]
    # One Back (the step before, from the first page), one way on; the counter is in the text.
    assert area[8:] == ["bk:area:back", "bk:area:page:1", "bk:area:other"]
    assert prompt_datas(session_at("area_other", lang)) == ["bk:area_other:back"]
    time = prompt_datas(session_at("time", lang))
    assert time == [
        f"bk:time:{day}-{part}"
        for day in ("20261124", "20261125", "20261126")
        for part in ("morning", "midday", "afternoon", "evening")
    ] + ["bk:time:back"]

    address = booking.reprompt(session_at("address", lang), CTX).reply.effects
    assert len(address) == 1  # no saved address to offer
    assert isinstance(address[0], Outbound)
    assert [[key.kind for key in row] for row in address[0].keys] == [
        [KeyKind.LOCATION],
        [KeyKind.TEXT],
    ]
    phone = booking.reprompt(session_at("phone", lang), CTX).reply.effects
    assert len(phone) == 1
    assert isinstance(phone[0], Outbound)
    assert [[key.kind for key in row] for row in phone[0].keys] == [
        [KeyKind.CONTACT],
        [KeyKind.TEXT],
    ]
    name = booking.reprompt(session_at("name", lang), CTX).reply.effects
    assert isinstance(name[0], Outbound)
    # The sender's first name is offered as a key, above Back.
    assert [[key.label for key in row] for row in name[0].keys] == [
        ["Rahim"],
        [back_label(lang)],
    ]


def test_step_counter_numbers_the_job_steps_in_bengali_digits() -> None:
    for step, number in (("service", 1), ("problem", 2), ("time", 7)):
        first_en = messages(booking.reprompt(session_at(step, "en"), CTX))[0].text
        assert first_en.startswith(f"Step {number} of 7")
        first_bn = messages(booking.reprompt(session_at(step, "bn"), CTX))[0].text
        counter = first_bn.splitlines()[0]
        assert localize_digits(str(number), "bn") in counter
        assert not any(ch.isascii() and ch.isdigit() for ch in counter)


def test_problem_skip_stores_no_problem() -> None:
    outcome = send(session_at("problem", "en"), ButtonPress("bk:problem:skip"))
    assert outcome.session.step == "area"
    assert outcome.session.data["problem"] is None


def test_start_keeps_a_cleaned_first_name_and_a_fresh_draft_id() -> None:
    first = begin("en", first_name="\u202eRa\x00him  ").session
    second = begin("en").session
    assert first.data["first_name"] == "Rahim"
    assert len(first.data["draft"]) == 16
    assert first.data["draft"] != second.data["draft"]


def test_flows_never_mutate_the_session_they_are_given() -> None:
    session = session_at("problem", "en")
    before = session.copy()
    send(session, Text("Broken pipe"))
    assert session == before


# --- consent ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_consent_yes_records_the_contexts_policy_version(lang: str) -> None:
    ctx = Context(now=NOW, policy_version="2031-01-01")
    session = booking.start(Session(PERSON, lang), ctx, Profile(), None).session
    outcome = send(session, ButtonPress("bk:consent:yes"), ctx)
    assert outcome.actions == [GiveConsent("2031-01-01")]
    assert outcome.session.step == "service"


@pytest.mark.parametrize("lang", LANGS)
def test_profile_that_agreed_to_this_policy_skips_consent(lang: str) -> None:
    outcome = begin(lang, Profile(consent_version=POLICY))
    assert outcome.session.step == "service"
    assert datas(outcome)[0].startswith("bk:service:")
    assert outcome.actions == []


@pytest.mark.parametrize("version", [None, "2024-01-01"])
def test_profile_that_agreed_to_another_policy_is_asked_again(version: str | None) -> None:
    outcome = begin("en", Profile(consent_version=version))
    assert outcome.session.step == "consent"
    assert "bk:consent:yes" in datas(outcome)


@pytest.mark.parametrize("lang", LANGS)
def test_consent_no_leaves_the_booking_and_keeps_nothing(lang: str) -> None:
    outcome = send(session_at("consent", lang), ButtonPress("bk:consent:no"))
    assert outcome.session.flow == IDLE
    assert outcome.session.data == {}
    assert outcome.actions == []
    assert len(messages(outcome)) == 1


def test_consent_policy_shows_the_policy_then_asks_again() -> None:
    session = session_at("consent", "en")
    outcome = send(session, ButtonPress("bk:consent:policy"))
    assert outcome.actions == [ShowPolicy()]
    assert outcome.session == session
    assert datas(outcome) == ["bk:consent:yes", "bk:consent:policy", "bk:consent:no"]


@pytest.mark.parametrize("kind", [Text("yes"), Unsupported("sticker")])
def test_consent_cannot_be_typed(kind: Text | Unsupported) -> None:
    session = session_at("consent", "en")
    outcome = send(session, kind)
    assert_unchanged_reprompt(session, outcome)


# --- back -------------------------------------------------------------------------------------

INLINE_BACKS = [
    ("problem", "service"),
    ("area", "problem"),
    ("area_other", "area"),
    ("time", "name"),
]
KEYBOARD_BACKS = [("address", "area"), ("phone", "address"), ("name", "phone")]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "previous"), INLINE_BACKS)
def test_inline_back_goes_one_step_back(lang: str, step: str, previous: str) -> None:
    session = session_at(step, lang)
    outcome = send(session, ButtonPress(f"bk:{step}:back", "10"))
    assert outcome.session.step == previous
    assert outcome.session.flow == BOOKING
    assert outcome.actions == []
    assert prompt_datas(outcome.session) == datas(outcome)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("label_lang", LANGS)
@pytest.mark.parametrize(("step", "previous"), KEYBOARD_BACKS)
def test_keyboard_back_in_either_language_goes_one_step_back(
    lang: str, label_lang: str, step: str, previous: str
) -> None:
    session = session_at(step, lang)
    outcome = send(session, Text(f"  {back_label(label_lang)} "))
    assert outcome.session.step == previous
    assert outcome.session.data == session.data


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "previous"), KEYBOARD_BACKS)
def test_the_back_key_the_keyboard_shows_goes_back(lang: str, step: str, previous: str) -> None:
    session = session_at(step, lang)
    prompt = messages(booking.reprompt(session, CTX))[0]
    back_key = prompt.keys[-1][0]
    assert back_key.kind == KeyKind.TEXT
    assert send(session, Text(back_key.label)).session.step == previous


def test_back_from_address_removes_the_keyboard_for_the_inline_area_step() -> None:
    outcome = send(session_at("address", "en"), Text("◀ Back"))
    assert outcome.session.step == "area"
    assert any(message.remove_keys for message in messages(outcome))


def test_back_from_area_other_after_picking_a_typed_area_returns_to_area() -> None:
    session = send(session_at("area_other", "en"), Text("Aftabnagar")).session
    assert session.step == "address"
    outcome = send(session, Text("◀ Back"))
    assert outcome.session.step == "area"


def test_back_text_at_a_step_without_keyboard_is_an_answer_not_back() -> None:
    outcome = send(session_at("problem", "en"), Text("◀ Back door is broken"))
    assert outcome.session.step == "area"
    assert outcome.session.data["problem"] == "◀ Back door is broken"


# --- keyboard removal --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_leaving_the_name_step_for_the_time_buttons_removes_the_keyboard(lang: str) -> None:
    outcome = send(session_at("name", lang), Text(NAME_TEXT))
    assert outcome.session.step == "time"
    sent = messages(outcome)
    assert any(message.remove_keys for message in sent)
    # The removal comes before the inline question, which carries no keyboard of its own.
    assert sent[-1].buttons


@pytest.mark.parametrize(
    ("step", "answer"),
    [
        ("address", Text("House 99, Road 1, Uttara")),
        ("address", LocationShared(23.8, 90.4)),
        ("phone", Text("01812345678")),
        ("name", Text("Someone Else")),
    ],
)
def test_editing_a_keyboard_step_back_into_the_summary_removes_the_keyboard(
    step: str, answer: Text | LocationShared
) -> None:
    session = session_at("summary", "en")
    session = send(session, ButtonPress(f"bk:summary:edit:{step}")).session
    outcome = send(session, answer)
    assert outcome.session.step == "summary"
    assert any(message.remove_keys for message in messages(outcome))


def test_moving_between_keyboard_steps_shows_the_next_keyboard() -> None:
    outcome = send(session_at("address", "en"), Text(ADDRESS_TEXT))
    assert outcome.session.step == "phone"
    assert messages(outcome)[-1].keys


# --- edit, cancel -------------------------------------------------------------------------------

EDITED_FIELD = {
    "service": "service",
    "problem": "problem",
    "area": "area",
    "address": "address",
    "phone": "phone",
    "name": "name",
    "time": "visit_part",
}
EDITS = [
    ("service", ButtonPress("bk:service:electrical"), "service", "electrical"),
    ("problem", Text("Fan is sparking"), "problem", "Fan is sparking"),
    ("problem", ButtonPress("bk:problem:skip"), "problem", None),
    ("area", ButtonPress("bk:area:gulshan"), "area", "gulshan"),
    ("area", Text("uttara"), "area", "uttara"),
    ("address", Text("House 1, Road 1, Gulshan 1"), "address", "House 1, Road 1, Gulshan 1"),
    ("address", LocationShared(23.78, 90.41), "lat", 23.78),
    ("phone", Text("019 1234 5678"), "phone", "+8801912345678"),
    ("name", Text("Nasima Akter"), "name", "Nasima Akter"),
    ("time", ButtonPress("bk:time:20261126-morning"), "visit_date", "2026-11-26"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "answer", "key", "value"), EDITS)
def test_edit_jumps_to_a_step_and_the_answer_returns_to_the_summary(
    lang: str, step: str, answer: object, key: str, value: object
) -> None:
    summary = session_at("summary", lang)
    menu = send(summary, ButtonPress("bk:summary:edit", "20"))
    assert menu.session.step == "summary"
    assert datas(menu) == [f"bk:summary:edit:{s}" for s in booking.EDITABLE] + ["bk:summary:view"]

    jumped = send(menu.session, ButtonPress(f"bk:summary:edit:{step}", "21"))
    assert jumped.session.step == step
    assert messages(jumped) == messages(booking.reprompt(jumped.session, CTX))

    answered = send(jumped.session, answer)  # type: ignore[arg-type]
    assert answered.session.step == "summary"
    assert answered.session.data[key] == value
    assert "editing" not in answered.session.data
    assert datas(answered)[-3:] == [
        "bk:summary:confirm",
        "bk:summary:edit",
        "bk:summary:cancel",
    ]
    # Everything else survived the edit.
    for other in ("service", "area", "phone", "name", "visit_part"):
        if other not in (key, EDITED_FIELD[step]):
            assert answered.session.data[other] == summary.data[other]


def test_edit_area_through_other_area_returns_to_the_summary() -> None:
    session = send(session_at("summary", "en"), ButtonPress("bk:summary:edit:area")).session
    session = send(session, ButtonPress("bk:area:other")).session
    assert session.step == "area_other"
    outcome = send(session, Text("Aftabnagar"))
    assert outcome.session.step == "summary"
    assert outcome.session.data["area"] == "other"
    assert "Aftabnagar" in messages(outcome)[-1].text


@pytest.mark.parametrize(
    ("step", "back"),
    [
        ("problem", ButtonPress("bk:problem:back")),
        ("time", ButtonPress("bk:time:back")),
        ("phone", Text("◀ Back")),
    ],
)
def test_back_while_editing_returns_to_the_summary(step: str, back: object) -> None:
    summary = session_at("summary", "en")
    session = send(summary, ButtonPress(f"bk:summary:edit:{step}")).session
    outcome = send(session, back)  # type: ignore[arg-type]
    assert outcome.session.step == "summary"
    assert outcome.session.data == summary.data


def test_edit_menu_view_goes_back_to_the_summary() -> None:
    summary = session_at("summary", "en")
    menu = send(summary, ButtonPress("bk:summary:edit")).session
    outcome = send(menu, ButtonPress("bk:summary:view"))
    assert outcome.session == summary
    assert datas(outcome) == ["bk:summary:confirm", "bk:summary:edit", "bk:summary:cancel"]


@pytest.mark.parametrize("lang", LANGS)
def test_cancel_from_the_summary_resets_the_session(lang: str) -> None:
    outcome = send(session_at("summary", lang), ButtonPress("bk:summary:cancel"))
    assert outcome.session == Session(PERSON, lang)
    assert outcome.actions == []
    assert any(message.remove_keys for message in messages(outcome))


@pytest.mark.parametrize("step", ["consent", "problem", "address", "phone", "time", "summary"])
def test_booking_cancel_resets_from_any_step(step: str) -> None:
    session = session_at(step, "bn")
    outcome = booking.cancel(session)
    assert outcome.session.flow == IDLE
    assert outcome.session.step == ""
    assert outcome.session.data == {}
    assert outcome.session.lang == "bn"
    assert outcome.actions == []
    sent = messages(outcome)
    assert len(sent) == 1
    assert sent[0].remove_keys
    assert session.flow == BOOKING  # the given session is untouched


# --- stale buttons ------------------------------------------------------------------------------

STEPS_WITH_PROMPTS = [
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
]


def _foreign_data(step: str) -> list[str]:
    """Valid button data of every other step."""
    found = []
    for other in STEPS_WITH_PROMPTS:
        if other != step:
            found.extend(step_datas(other))
    found.extend(["bk:area:page:2", "bk:summary:edit:phone", "bk:phone:saved"])
    return [data for data in found if data.split(":")[1] != step]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("step", STEPS_WITH_PROMPTS)
def test_a_button_of_another_step_is_stale_and_changes_nothing(lang: str, step: str) -> None:
    session = session_at(step, lang)
    for data in _foreign_data(step):
        outcome = send(session, ButtonPress(data, "30"))
        assert_unchanged_reprompt(session, outcome)
        assert messages(outcome)[0].text == _(lang, STALE)


@pytest.mark.parametrize(
    "data", ["", "bk", "bk:service", "go:book", "lang:en", "job:acc:3", "xx:service:plumbing"]
)
def test_button_data_that_is_not_ours_is_stale(data: str) -> None:
    session = session_at("service", "en")
    outcome = send(session, ButtonPress(data))
    assert_unchanged_reprompt(session, outcome)
    assert messages(outcome)[0].text == STALE


@pytest.mark.parametrize(
    ("step", "data"),
    [
        ("consent", "bk:consent:maybe"),
        ("service", "bk:service:astrology"),
        ("problem", "bk:problem:plumbing"),
        ("area", "bk:area:narnia"),
        ("time", "bk:time:20261127-morning"),
        ("time", "bk:time:20261125-night"),
        ("summary", "bk:summary:pay"),
        ("area_other", "bk:area_other:page"),
    ],
)
def test_unknown_value_for_the_current_step_changes_nothing(step: str, data: str) -> None:
    session = session_at(step, "en")
    outcome = send(session, ButtonPress(data))
    assert_unchanged_reprompt(session, outcome)


# --- area ----------------------------------------------------------------------------------


def _area_slugs(message: Outbound) -> list[str]:
    return [
        data.split(":")[2]
        for data in datas([message])
        if data.count(":") == 2 and data.split(":")[2] not in ("other", "back")
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_area_paging_edits_the_list_in_place(lang: str) -> None:
    session = session_at("area", lang)
    outcome = send(session, ButtonPress("bk:area:page:1", "555"))
    assert outcome.session.step == "area"
    assert outcome.session.data["area_page"] == 1
    sent = messages(outcome)
    assert len(sent) == 1
    assert sent[0].replaces == "555"
    assert _area_slugs(sent[0]) == [a.slug for a in AREAS[8:16]]
    # Page 2: Back turns to page 1, More to page 3; no second back, no counter button.
    assert datas(outcome)[8:] == ["bk:area:page:0", "bk:area:page:2", "bk:area:other"]
    # Asking again shows the page the customer was on.
    assert _area_slugs(messages(booking.reprompt(outcome.session, CTX))[0]) == _area_slugs(sent[0])


@pytest.mark.parametrize(
    ("page", "expected"),
    [("99", 3), ("3", 3), ("-1", 0), ("x", 0), ("", 0), ("0", 0)],
)
def test_area_paging_clamps_to_existing_pages(page: str, expected: int) -> None:
    outcome = send(session_at("area", "en"), ButtonPress(f"bk:area:page:{page}", "8"))
    assert outcome.session.data["area_page"] == expected
    start = expected * booking.AREAS_PER_PAGE
    slugs = _area_slugs(messages(outcome)[0])
    assert slugs == [a.slug for a in AREAS[start : start + booking.AREAS_PER_PAGE]]
    nav = [d for d in datas(outcome) if d.startswith("bk:area:page:")]
    assert all(0 <= int(d.rsplit(":", 1)[1]) <= 3 for d in nav)


def test_every_area_is_on_some_page() -> None:
    session = session_at("area", "en")
    seen: list[str] = []
    for page in range(4):
        outcome = send(session, ButtonPress(f"bk:area:page:{page}", "1"))
        seen.extend(_area_slugs(messages(outcome)[0]))
    assert seen == [a.slug for a in AREAS]


def test_picking_an_area_after_paging_forgets_the_page() -> None:
    session = send(session_at("area", "en"), ButtonPress("bk:area:page:2", "1")).session
    outcome = send(session, ButtonPress("bk:area:savar"))
    assert outcome.session.step == "address"
    assert outcome.session.data["area"] == "savar"
    assert "area_page" not in outcome.session.data


@pytest.mark.parametrize("lang", LANGS)
def test_other_area_takes_typed_text(lang: str) -> None:
    outcome = send(session_at("area_other", lang), Text("  Aftab\u202enagar  "))
    assert outcome.session.step == "address"
    assert outcome.session.data["area"] == "other"
    assert outcome.session.data["area_other"] == "Aftabnagar"


@pytest.mark.parametrize("typed", ["1234", "", "   ", "a" * 61, "🙂🙂"])
def test_other_area_refuses_no_letters_or_too_long(typed: str) -> None:
    session = session_at("area_other", "en")
    assert_unchanged_reprompt(session, send(session, Text(typed)))


def test_other_area_of_sixty_characters_is_accepted() -> None:
    outcome = send(session_at("area_other", "en"), Text("a" * 60))
    assert outcome.session.data["area_other"] == "a" * 60


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("area", AREAS, ids=lambda a: a.slug)
def test_typed_area_names_in_either_language_and_any_case(lang: str, area: Area) -> None:
    for typed in (area.en.upper(), area.en.lower(), f"  {area.bn} ", area.slug):
        outcome = send(session_at("area", lang), Text(typed))
        assert outcome.session.step == "address", typed
        assert outcome.session.data["area"] == area.slug
        assert outcome.session.data["area_other"] is None


def test_typed_unknown_area_is_refused() -> None:
    session = session_at("area", "en")
    assert_unchanged_reprompt(session, send(session, Text("Narnia")))


# --- service --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.slug)
def test_typed_service_names_in_either_language_and_any_case(lang: str, service: Service) -> None:
    typed_forms = (
        service.label("en").upper(),
        service.label("en").lower(),
        f" {service.label('bn')} ",
        service.slug,
    )
    for typed in typed_forms:
        outcome = send(session_at("service", lang), Text(typed))
        assert outcome.session.step == "problem", typed
        assert outcome.session.data["service"] == service.slug


def test_typed_unknown_service_is_refused() -> None:
    session = session_at("service", "en")
    assert_unchanged_reprompt(session, send(session, Text("Astrology")))


def test_service_button_gives_a_toast_with_the_service_name() -> None:
    outcome = send(session_at("service", "en"), ButtonPress("bk:service:ac-servicing"))
    assert outcome.reply.toast == "AC servicing"


# --- address, phone, name --------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_location_pin_at_address_stores_latitude_and_longitude(lang: str) -> None:
    outcome = send(session_at("address", lang), LocationShared(23.8103, 90.4125))
    assert outcome.session.step == "phone"
    data = outcome.session.data
    assert (data["lat"], data["lon"]) == (23.8103, 90.4125)
    assert data["address"] is None


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(91.0, 90.0), (-91.0, 0.0), (23.0, 181.0), (23.0, -180.5), (float("nan"), 90.0)],
)
def test_location_out_of_range_is_refused(lat: float, lon: float) -> None:
    session = session_at("address", "en")
    assert_unchanged_reprompt(session, send(session, LocationShared(lat, lon)))


@pytest.mark.parametrize("typed", ["Road", "12345 67890", "", "\x00\x01\x02\x03\x04\x05"])
def test_address_needs_letters_and_five_characters(typed: str) -> None:
    session = session_at("address", "en")
    assert_unchanged_reprompt(session, send(session, Text(typed)))


@pytest.mark.parametrize("lang", LANGS)
def test_own_shared_contact_is_taken(lang: str) -> None:
    outcome = send(session_at("phone", lang), ContactShared("8801712345678", USER, "Rahim"))
    assert outcome.session.step == "name"
    assert outcome.session.data["phone"] == PHONE_E164


@pytest.mark.parametrize("owner", [OTHER_USER, None])
def test_someone_elses_contact_is_refused(owner: str | None) -> None:
    session = session_at("phone", "en")
    outcome = send(session, ContactShared("+8801712345678", owner, "Other"))
    assert_unchanged_reprompt(session, outcome)
    assert "phone" not in outcome.session.data


@pytest.mark.parametrize("typed", ["12345", "01112345678", "017123456789", "call me"])
def test_invalid_phone_is_refused(typed: str) -> None:
    session = session_at("phone", "en")
    assert_unchanged_reprompt(session, send(session, Text(typed)))


@pytest.mark.parametrize("lang", LANGS)
def test_phone_in_bengali_digits_is_taken_and_acknowledged(lang: str) -> None:
    outcome = send(session_at("phone", lang), Text("০১৭১২-৩৪৫৬৭৮"))
    assert outcome.session.data["phone"] == PHONE_E164
    assert localize_digits("01712345678", lang) in messages(outcome)[0].text


def test_location_at_the_phone_step_is_refused() -> None:
    session = session_at("phone", "en")
    assert_unchanged_reprompt(session, send(session, LocationShared(23.0, 90.0)))


@pytest.mark.parametrize("typed", ["", "12345", "!!!"])
def test_name_needs_letters(typed: str) -> None:
    session = session_at("name", "en")
    assert_unchanged_reprompt(session, send(session, Text(typed)))


# --- returning customers ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_saved_address_is_offered_and_used(lang: str) -> None:
    session = session_at("address", lang, RETURNING)
    offer = messages(booking.reprompt(session, CTX))
    assert len(offer) == 2
    assert offer[0].keys  # the keyboard question comes first
    assert datas([offer[1]]) == ["bk:address:saved"]
    assert html.escape(RETURNING.address or "", quote=False) in offer[1].text

    outcome = send(session, ButtonPress("bk:address:saved"))
    assert outcome.session.step == "phone"
    data = outcome.session.data
    assert (data["address"], data["lat"], data["lon"]) == (
        RETURNING.address,
        RETURNING.latitude,
        RETURNING.longitude,
    )


def test_saved_location_without_address_is_offered() -> None:
    profile = Profile(latitude=23.7, longitude=90.4, consent_version=POLICY)
    session = session_at("address", "en", profile)
    assert "bk:address:saved" in prompt_datas(session)
    data = send(session, ButtonPress("bk:address:saved")).session.data
    assert (data["address"], data["lat"], data["lon"]) == (None, 23.7, 90.4)


@pytest.mark.parametrize("lang", LANGS)
def test_saved_phone_is_offered_masked_and_used(lang: str) -> None:
    session = session_at("phone", lang, RETURNING)
    offer = messages(booking.reprompt(session, CTX))
    assert len(offer) == 2
    buttons = [button for row in offer[1].buttons for button in row]
    assert [button.data for button in buttons] == ["bk:phone:saved"]
    masked = localize_digits(mask(RETURNING.phone or ""), lang)
    assert masked in buttons[0].label
    assert "98765432" not in "".join(m.text for m in offer) + buttons[0].label

    outcome = send(session, ButtonPress("bk:phone:saved"))
    assert outcome.session.step == "name"
    assert outcome.session.data["phone"] == RETURNING.phone


def test_saved_name_is_suggested_before_the_telegram_first_name() -> None:
    session = session_at("name", "en", RETURNING)
    keys = messages(booking.reprompt(session, CTX))[0].keys
    assert keys[0][0].label == RETURNING.name


@pytest.mark.parametrize(("step", "data"), [("address", "saved"), ("phone", "saved")])
def test_saved_buttons_without_a_profile_change_nothing(step: str, data: str) -> None:
    session = session_at(step, "en")
    assert f"bk:{step}:saved" not in prompt_datas(session)
    assert_unchanged_reprompt(session, send(session, ButtonPress(f"bk:{step}:{data}")))


def test_returning_customer_books_with_saved_details_only() -> None:
    session = begin("en", RETURNING).session
    assert session.step == "service"
    for payload in (
        ButtonPress("bk:service:masonry"),
        ButtonPress("bk:problem:skip"),
        ButtonPress("bk:area:mirpur"),
        ButtonPress("bk:address:saved"),
        ButtonPress("bk:phone:saved"),
        Text(RETURNING.name or ""),
        ButtonPress("bk:time:20261124-morning"),
    ):
        session = send(session, payload).session
    assert session.step == "summary"
    [action] = send(session, ButtonPress("bk:summary:confirm")).actions
    assert isinstance(action, PlaceOrder)
    draft = action.draft
    assert (draft.phone, draft.name, draft.address) == (
        RETURNING.phone,
        RETURNING.name,
        RETURNING.address,
    )
    assert (draft.latitude, draft.longitude) == (RETURNING.latitude, RETURNING.longitude)
    assert (draft.visit_date, draft.visit_part) == (date(2026, 11, 24), "morning")
    assert draft.problem is None


# --- limits -------------------------------------------------------------------------------------

LIMITS = [("problem", 500), ("address", 300), ("name", 64)]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "limit"), LIMITS)
def test_answers_over_the_limit_are_refused_with_the_limit(
    lang: str, step: str, limit: int
) -> None:
    session = session_at(step, lang)
    outcome = send(session, Text("a" * (limit + 1)))
    assert_unchanged_reprompt(session, outcome)
    assert localize_digits(str(limit), lang) in messages(outcome)[0].text


@pytest.mark.parametrize(("step", "limit"), LIMITS)
def test_answers_at_the_limit_are_taken(step: str, limit: int) -> None:
    outcome = send(session_at(step, "en"), Text("a" * limit))
    assert outcome.session.step != step
    assert outcome.session.data[step] == "a" * limit


def test_problem_limit_counts_the_cleaned_text() -> None:
    # Control characters are dropped before the length is measured.
    outcome = send(session_at("problem", "en"), Text("a" * 500 + "\x00" * 50))
    assert outcome.session.data["problem"] == "a" * 500


# --- time ---------------------------------------------------------------------------------------


def test_time_buttons_offer_only_open_slots() -> None:
    late = Context(now=NOW.replace(hour=14, minute=1), policy_version=POLICY)  # 20:01 in Dhaka
    times = prompt_datas(session_at("time", "en"), late)
    assert "bk:time:20261124-morning" not in times
    assert "bk:time:20261124-afternoon" not in times
    assert "bk:time:20261124-evening" not in times  # less than an hour before 21:00
    tomorrow = {
        "bk:time:20261125-morning",
        "bk:time:20261125-midday",
        "bk:time:20261125-afternoon",
        "bk:time:20261125-evening",
    }
    assert tomorrow <= set(times)


@pytest.mark.parametrize("lang", LANGS)
def test_time_button_for_a_slot_that_has_passed_is_refused(lang: str) -> None:
    session = session_at("time", lang)
    assert "bk:time:20261124-morning" in prompt_datas(session)  # offered at 09:00 in Dhaka
    later = Context(now=NOW + timedelta(hours=2, minutes=30), policy_version=POLICY)
    outcome = booking.handle(session, event(ButtonPress("bk:time:20261124-morning", "40")), later)
    assert outcome.session == session
    assert "visit_date" not in outcome.session.data
    sent = messages(outcome)
    assert len(sent) == 2
    assert sent[0].buttons == ()
    assert "bk:time:20261124-morning" not in datas([sent[1]])
    assert "bk:time:20261124-afternoon" in datas([sent[1]])


def test_time_button_stores_the_dhaka_date() -> None:
    # 23:30 UTC on the 24th is already the 25th in Dhaka.
    ctx = Context(now=NOW.replace(hour=23, minute=30), policy_version=POLICY)
    outcome = booking.handle(
        session_at("time", "en"), event(ButtonPress("bk:time:20261125-evening")), ctx
    )
    assert outcome.session.data["visit_date"] == "2026-11-25"
    assert outcome.session.data["visit_part"] == "evening"


def test_time_button_pressed_the_next_day_keeps_its_date_or_is_refused() -> None:
    session = session_at("time", "en")  # shown on Tue 24 Nov, 09:00 Dhaka
    assert "bk:time:20261124-evening" in prompt_datas(session)  # "Today · Evening" = 24 Nov
    next_morning = Context(now=NOW + timedelta(days=1), policy_version=POLICY)
    outcome = booking.handle(session, event(ButtonPress("bk:time:20261124-evening")), next_morning)
    # Either the 24th-evening slot is refused as passed, or the date shown is kept.
    refused = outcome.session.step == "time"
    assert refused or outcome.session.data["visit_date"] == "2026-11-24"


# --- other events -------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["service", "problem", "address", "phone", "name", "time"])
def test_unknown_command_during_a_step_is_hinted_and_changes_nothing(step: str) -> None:
    session = session_at(step, "en")
    outcome = send(session, Command("<b>frob</b>" + "x" * 100))
    assert_unchanged_reprompt(session, outcome)
    hint = messages(outcome)[0].text
    assert "&lt;b&gt;frob&lt;/b&gt;" in hint
    assert "<b>frob" not in hint
    assert "x" * 30 not in hint


@pytest.mark.parametrize("step", ["consent", "service", "problem", "area", "address", "summary"])
def test_unsupported_content_changes_nothing(step: str) -> None:
    session = session_at(step, "en")
    assert_unchanged_reprompt(session, send(session, Unsupported("sticker")))


# --- every message and button within Telegram's limits -----------------------------------------


def _edited_flow(lang: str, profile: Profile | None) -> list[Outcome]:
    outcomes = [begin(lang, profile)]
    session = outcomes[0].session

    def step(payload: object) -> None:
        nonlocal session
        outcomes.append(send(session, payload))  # type: ignore[arg-type]
        session = outcomes[-1].session

    if session.step == "consent":
        step(ButtonPress("bk:consent:policy"))
        step(ButtonPress("bk:consent:yes"))
    for payload in (
        Text("ac servicing"),
        Text("x" * 500),
        ButtonPress("bk:area:page:1", "3"),
        ButtonPress("bk:area:page:3", "3"),
        ButtonPress("bk:area:other"),
        Text("y" * 60),
        Text("z" * 300),
        Text("01712345678"),
        Text("n" * 64),
        ButtonPress("bk:time:20261126-evening"),
        ButtonPress("bk:summary:edit"),
        ButtonPress("bk:summary:edit:address"),
        LocationShared(23.7, 90.4),
        ButtonPress("bk:service:masonry"),  # stale: the summary is showing
        ButtonPress("bk:summary:edit:service"),
        ButtonPress("bk:service:masonry"),
        ButtonPress("bk:summary:edit:time"),
        ButtonPress("bk:time:back"),
        ButtonPress("bk:summary:confirm"),
    ):
        step(payload)
    assert session.flow == IDLE
    return outcomes


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("profile", [None, RETURNING], ids=["new", "returning"])
def test_every_text_and_button_of_a_whole_flow_is_within_limits(
    lang: str, profile: Profile | None
) -> None:
    outcomes = _edited_flow(lang, profile)
    assert any(isinstance(a, PlaceOrder) for a in outcomes[-1].actions)
    sent = all_outbounds(outcomes)
    assert len(sent) > 20
    for message in sent:
        assert 0 < len(message.text) <= MAX_TEXT
        for row in message.buttons:
            for button in row:
                assert len(button.data.encode()) <= MAX_BUTTON_DATA
                assert button.label
        for row in message.keys:
            for key in row:
                assert key.label


# --- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_user_text_is_escaped_in_the_summary(lang: str) -> None:
    session = session_at("problem", lang)
    for payload in (
        Text("<b>x</b>"),
        ButtonPress("bk:area:other"),
        Text("<i>Zone</i> & Co"),
        Text("<script>alert(1)</script> Road 5"),
        Text("01712345678"),
        Text("<a href='x'>Rahim</a>"),
    ):
        outcome = send(session, payload)
        session = outcome.session
        for message in messages(outcome):
            assert "<script" not in message.text
            assert "<a href" not in message.text
    outcome = send(session, ButtonPress("bk:time:20261125-morning"))
    assert outcome.session.step == "summary"
    summary = messages(outcome)[-1].text
    assert "&lt;b&gt;x&lt;/b&gt;" in summary
    assert "&lt;i&gt;Zone&lt;/i&gt; &amp; Co" in summary
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Road 5" in summary
    assert "&lt;a href='x'&gt;Rahim&lt;/a&gt;" in summary
    assert "<script" not in summary
    assert "<i>" not in summary
    # The answers themselves are stored as typed; escaping is for display only.
    assert session.data["problem"] == "<b>x</b>"


def test_summary_lists_every_answer() -> None:
    summary = messages(send(session_at("time", "en"), PATH[-1][1]))[-1].text
    for expected in (
        "Plumbing",
        PROBLEM_TEXT,
        "Mirpur",
        ADDRESS_TEXT,
        "01712345678",
        NAME_TEXT,
        "25 November",
    ):
        assert expected in summary
    assert "+880" not in summary


def test_bengali_summary_writes_digits_in_bengali() -> None:
    summary = messages(send(session_at("time", "bn"), PATH[-1][1]))[-1].text
    assert localize_digits("01712345678", "bn") in summary
    assert "01712345678" not in summary


# --- known bugs --------------------------------------------------------------------------------


def test_summary_of_answers_within_their_limits_fits_one_message() -> None:
    session = session_at("problem", "en")
    for payload in (
        Text("&" * 500),
        ButtonPress("bk:area:other"),
        Text("a" + "&" * 59),
        Text("a" + "&" * 299),
        Text("01712345678"),
        Text("a" + "&" * 63),
    ):
        outcome = send(session, payload)
        assert outcome.session.step != session.step  # every answer was accepted
        session = outcome.session
    outcome = send(session, ButtonPress("bk:time:20261125-morning"))
    assert outcome.session.step == "summary"


def test_area_page_with_a_superscript_digit_does_not_raise() -> None:
    session = session_at("area", "en")
    outcome = send(session, ButtonPress("bk:area:page:²", "1"))
    assert outcome.session.step == "area"


def test_time_button_with_a_superscript_digit_does_not_raise() -> None:
    session = session_at("time", "en")
    outcome = send(session, ButtonPress("bk:time:²-morning"))
    assert_unchanged_reprompt(session, outcome)


def test_typing_a_new_address_drops_the_pin_of_the_old_one() -> None:
    session = session_at("address", "en", RETURNING)
    for payload in (
        ButtonPress("bk:address:saved"),
        ButtonPress("bk:phone:saved"),
        Text("Karim"),
        ButtonPress("bk:time:20261125-morning"),
        ButtonPress("bk:summary:edit:address"),
        Text("House 1, Road 2, Mirpur 10 (we moved)"),
    ):
        session = send(session, payload).session
    assert session.step == "summary"
    [action] = send(session, ButtonPress("bk:summary:confirm")).actions
    assert isinstance(action, PlaceOrder)
    assert action.draft.address == "House 1, Road 2, Mirpur 10 (we moved)"
    assert (action.draft.latitude, action.draft.longitude) == (None, None)


def test_confirm_with_a_missing_answer_goes_to_that_step_instead_of_ordering() -> None:
    session = session_at("summary", "en")
    broken = replace(session, data={k: v for k, v in session.data.items() if k != "phone"})
    outcome = send(broken, ButtonPress("bk:summary:confirm"))
    assert outcome.actions == []
    assert outcome.session.step == "phone"
    assert outcome.session.flow == BOOKING
