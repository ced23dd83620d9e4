"""Rendering: every message the flows can say becomes requests the Cloud API accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.whatsapp import limits
from channels.whatsapp.fake_api.checks import Invalid, message
from channels.whatsapp.inbound import CONTACT_ID, KEY_PREFIX
from channels.whatsapp.render import render, request
from conversations import booking, common, registration
from conversations.events import Payload
from conversations.outbound import MAX_TEXT, Button, Key, KeyKind, KeyRows, Outbound, Rows
from conversations.router import Outcome
from tests.conversations import flow as booking_flow
from tests.conversations import registration_flow
from tests.conversations.test_booking_properties import PAYLOADS
from tests.conversations.test_booking_properties import STATES as BOOKING_STATES
from tests.conversations.test_registration_properties import STATES as REGISTRATION_STATES

WA = "8801712345678"
LANGS = ("bn", "en")


def accepted(outbound: Outbound) -> list[dict[str, Any]]:
    """Render ``outbound`` and check every request as the Cloud API would."""
    parts = render(outbound)
    assert parts
    for part in parts:
        try:
            message(request(WA, part), media=(), templates=None)
        except Invalid as invalid:  # pragma: no cover - the failure message
            pytest.fail(f"the Cloud API would refuse {part}: {invalid.description}")
    return parts


def outbounds(outcome: Outcome) -> list[Outbound]:
    return [effect for effect in outcome.reply.effects if isinstance(effect, Outbound)]


def buttons(*labels: str) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(label, f"x:{n}"),) for n, label in enumerate(labels))


def test_three_short_choices_are_reply_buttons() -> None:
    [part] = accepted(Outbound("<b>Pick</b> one", buttons=buttons("Yes", "No", "Maybe")))
    interactive = part["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"] == "*Pick* one"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "x:0", "title": "Yes"},
        {"id": "x:1", "title": "No"},
        {"id": "x:2", "title": "Maybe"},
    ]


def test_long_labels_become_a_list_with_the_full_label_in_the_description() -> None:
    label = "Evening, Wednesday 25 November (16:00–20:00)"
    [part] = accepted(Outbound("When?", buttons=buttons("Now", label)))
    rows = part["interactive"]["action"]["sections"][0]["rows"]
    assert part["interactive"]["type"] == "list"
    assert rows[0] == {"id": "x:0", "title": "Now"}
    assert rows[1]["title"].endswith("…") and limits.size(rows[1]["title"]) <= 24
    assert rows[1]["description"] == label


def test_more_than_ten_choices_go_out_as_further_lists() -> None:
    parts = accepted(Outbound("Area?", buttons=buttons(*(f"Area {n}" for n in range(23)))))
    assert [len(p["interactive"]["action"]["sections"][0]["rows"]) for p in parts] == [10, 10, 3]
    assert [p["interactive"]["body"]["text"] for p in parts] == ["Area?", "2/3", "3/3"]


def test_keys_location_request_contact_and_a_pin() -> None:
    keys = ((Key("📍 Share location", KeyKind.LOCATION),), (Key("◀ Back"),))
    first, second = accepted(Outbound("Address?", keys=keys))
    assert first["interactive"]["action"]["buttons"][0]["reply"]["id"] == KEY_PREFIX + "◀ Back"
    assert second["interactive"]["type"] == "location_request_message"
    [alone] = accepted(Outbound("Pin?", keys=((Key("📍", KeyKind.LOCATION),),)))
    assert alone["interactive"] == {
        "type": "location_request_message",
        "body": {"text": "Pin?"},
        "action": {"name": "send_location"},
    }
    [phone] = accepted(Outbound("Phone?", keys=((Key("Use 017••••5678", KeyKind.CONTACT),),)))
    assert phone["interactive"]["action"]["buttons"][0]["reply"] == {
        "id": CONTACT_ID,
        "title": "Use 017••••5678",
    }
    text, pin = accepted(Outbound("Job", location=(23.8, 90.4)))
    assert text["type"] == "text" and pin["location"] == {"latitude": 23.8, "longitude": 90.4}


def test_a_long_body_goes_first_as_text_and_the_choices_under_its_last_lines() -> None:
    lines = [f"line {n} " + "ক" * 90 for n in range(30)]
    lead, choice = accepted(Outbound("\n".join(lines), buttons=buttons("OK")))
    assert lead["type"] == "text"
    assert lead["text"]["body"] + "\n" + choice["interactive"]["body"]["text"] == "\n".join(lines)
    one_line = "ক" * 3000
    lead, choice = accepted(Outbound(one_line, buttons=buttons("OK")))
    assert lead["text"]["body"] + choice["interactive"]["body"]["text"] == one_line


def test_entities_are_unescaped_and_user_markers_stay_inert() -> None:
    [part] = accepted(Outbound("<b>Name:</b> *Boss* &amp; _co_ &lt;3 ~x~ `y`"))
    assert part["text"]["body"] == "*Name:* ∗Boss∗ & ˍcoˍ <3 ∼x∼ ˋyˋ"


# ------------------------------------------------------------------ every prompt of the flows


def test_every_prompt_of_every_flow_in_both_languages_is_accepted() -> None:
    count = 0
    for session in BOOKING_STATES.values():
        for outbound in outbounds(booking.reprompt(session, booking_flow.CTX)):
            count += len(accepted(outbound))
    for session in REGISTRATION_STATES.values():
        for outbound in outbounds(registration.reprompt(session)):
            count += len(accepted(outbound))
    for lang in LANGS:
        for outbound in (
            common.welcome(lang, "*Rahim* <b>"),
            common.help_text(lang, "+8801712345678", "help@example.com"),
            common.language_menu(lang),
            common.language_set(lang),
            common.idle_hint(lang),
            common.unknown_command(lang, "x" * 40),
            common.stale_button(lang),
            common.error_apology(lang),
            common.slow_down(lang),
        ):
            count += len(accepted(outbound))
    assert count > 100


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), kind=st.sampled_from(sorted(PAYLOADS)))
def test_any_answer_of_the_booking_to_any_event_is_accepted(
    kind: str, data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(BOOKING_STATES)))
    payload: Payload = data.draw(PAYLOADS[kind])  # type: ignore[assignment]
    outcome = booking_flow.send(BOOKING_STATES[key], payload)
    for outbound in outbounds(outcome):
        accepted(outbound)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), kind=st.sampled_from(sorted(PAYLOADS)))
def test_any_answer_of_the_registration_to_any_event_is_accepted(
    kind: str, data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(REGISTRATION_STATES)))
    payload: Payload = data.draw(PAYLOADS[kind])  # type: ignore[assignment]
    outcome = registration_flow.send(REGISTRATION_STATES[key], payload)
    for outbound in outbounds(outcome):
        accepted(outbound)


labels = st.text(min_size=0, max_size=64) | st.sampled_from(["", " ", "\n", "ক্ষ" * 20, "🙂" * 30])
button_rows = st.lists(
    st.lists(
        st.builds(Button, labels, st.text("abc:0123", min_size=1, max_size=20)),
        min_size=1,
        max_size=4,
    ),
    max_size=12,
).map(lambda rows: tuple(tuple(row) for row in rows))
key_rows = st.lists(
    st.lists(st.builds(Key, labels, st.sampled_from(list(KeyKind))), min_size=1, max_size=3),
    max_size=5,
).map(lambda rows: tuple(tuple(row) for row in rows))
bodies = st.text(max_size=MAX_TEXT) | st.builds(
    lambda chunk, n: (chunk * n)[:MAX_TEXT],
    st.sampled_from(["<b>ক</b>\n", "a\n", "🙂", " \n", "&amp;*_", "<code>x</code>"]),
    st.integers(0, 2000),
)


@settings(max_examples=300, deadline=None)
@given(
    text=bodies,
    rows=button_rows,
    keys=key_rows,
    pin=st.none() | st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
)
def test_any_outbound_at_all_is_accepted(
    text: str, rows: Rows, keys: KeyRows, pin: tuple[float, float] | None
) -> None:
    accepted(Outbound(text, buttons=rows, keys=keys, location=pin))
