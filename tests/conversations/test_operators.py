"""Operators' and technicians' erasure texts: limits, button data, nothing personal."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations import operators, redaction
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT

WHEN = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)


def test_audit_log_shows_dhaka_time_newest_first() -> None:
    events = [
        operators.AuditLine(WHEN, "erase", "customer", "customer:12", "orders=2"),
        operators.AuditLine(WHEN - timedelta(days=1), "export", "customer", "customer:7"),
    ]
    text = operators.audit_log("en", events).text
    lines = text.splitlines()
    assert lines[1] == "26 November 2026, 12:30 AM · erase · customer · customer:12 · orders=2"
    assert lines[2] == "25 November 2026, 12:30 AM · export · customer · customer:7"
    bengali = operators.audit_log("bn", events).text
    assert "২৬ নভেম্বর ২০২৬, রাত ১২:৩০ · erase" in bengali


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_fifty_long_events_fit_in_one_message(lang: str) -> None:
    events = [
        operators.AuditLine(WHEN, "erase_by_operator", "operator", "s" * 64, "<&>" * 21)
        for _ in range(50)
    ]
    text = operators.audit_log(lang, events).text
    assert len(text) <= MAX_TEXT
    assert text.splitlines()[-1].startswith("…")
    assert "&lt;&amp;&gt;" in text and "<&>" not in text


def test_an_empty_log() -> None:
    assert operators.audit_log("en", []).text == "The audit log is empty."


@given(
    st.lists(st.integers(min_value=1, max_value=99_999_999), min_size=1, max_size=5),
    st.text("0123456789abcdef", min_size=8, max_size=8),
)
def test_erase_button_round_trips_within_the_limit(ids: list[int], check: str) -> None:
    data = operators.erase_button_data(ids, check)
    assert len(data.encode()) <= MAX_BUTTON_DATA
    assert operators.parse_erase_button(data) == operators.EraseRequest(tuple(ids), check)


@pytest.mark.parametrize(
    "data",
    [
        "op:erase",
        "op:erase::0123abcd",
        "op:erase:1:0123abc",
        "op:erase:1:0123abcg",
        "op:erase:1.2.3.4.5.6:0123abcd",
        "op:erase:+8801712345678:0123abcd",
        "op:erase:১:0123abcd",
        "dr:erase:1:0123abcd",
        "op:keep",
    ],
)
def test_other_data_is_not_an_erase_request(data: str) -> None:
    assert operators.parse_erase_button(data) is None


def test_erase_confirmation_shows_only_the_masked_number() -> None:
    message = operators.erase_confirm(
        "en",
        masked_phone="017••••5678",
        accounts=1,
        orders=3,
        more_accounts=False,
        data=operators.erase_button_data([4], "0123abcd"),
    )
    assert "017••••5678" in message.text and "orders: 3" in message.text
    assert [b.data for row in message.buttons for b in row] == ["op:erase:4:0123abcd", "op:keep"]


def test_technician_confirmation_says_what_goes_and_what_stays() -> None:
    message = redaction.confirm_technician_delete("en", "dr:delete:no")
    assert "name and phone number" in message.text and "anonymous record" in message.text
    assert [b.data for row in message.buttons for b in row] == ["tdel:yes", "dr:delete:no"]


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_redacted_job_texts_carry_the_reference_only(lang: str) -> None:
    erased = redaction.job_erased(lang, "MS-7K3Q", "12", pin_left=True)
    assert erased.replaces == "12" and "MS-7K3Q" in erased.text
    assert len(erased.text.splitlines()) == 3
    withdrawn = redaction.job_withdrawn(lang, "MS-7K3Q", None)
    assert withdrawn.replaces is None and len(withdrawn.text.splitlines()) == 2
    assert "MS-7K3Q" in redaction.job_cancelled(lang, "MS-7K3Q").text
