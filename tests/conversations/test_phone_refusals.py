"""A refused phone number is told what is wrong with it: length, operator, country, letters."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import booking
from conversations.events import ContactShared, Text
from conversations.i18n import translator
from conversations.phone import Fault, Refusal, check_bd_mobile, parse_bd_mobile, refusal_text
from tests.conversations.flow import USER, messages, send, session_at

OLD_HINT = "Please send 11 digits starting with 01"


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("01212345678", Refusal(Fault.NO_OPERATOR, prefix="012")),
        ("01112345678", Refusal(Fault.NO_OPERATOR, prefix="011")),
        ("+880 1012 345678", Refusal(Fault.NO_OPERATOR, prefix="010")),
        ("0171234567", Refusal(Fault.TOO_SHORT, digits=10)),
        ("০১৭১২৩৪৫৬৭", Refusal(Fault.TOO_SHORT, digits=10)),
        ("017123456789", Refusal(Fault.TOO_LONG, digits=12)),
        ("123", Refusal(Fault.TOO_SHORT, digits=3)),
        ("+880171234567", Refusal(Fault.TOO_SHORT)),
        ("+88017123456789", Refusal(Fault.TOO_LONG)),
        ("+44 7911 123456", Refusal(Fault.FOREIGN, country=44)),
        ("001 202 555 0123", Refusal(Fault.FOREIGN, country=1)),
        ("+0123", Refusal(Fault.FOREIGN)),
        ("029123456", Refusal(Fault.LANDLINE)),
        ("0171234567x", Refusal(Fault.LETTERS)),
        ("tel:01712345678", Refusal(Fault.LETTERS)),
        ("01712/345678", Refusal(Fault.SIGNS)),
        ("+", Refusal(Fault.EMPTY)),
    ],
)
def test_each_refusal_names_what_is_wrong(typed: str, refusal: Refusal) -> None:
    assert check_bd_mobile(typed) == refusal
    assert parse_bd_mobile(typed) is None


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("01212345678", "No mobile operator uses numbers starting with 012"),
        ("0171234567", "That number has 10 digits; a Bangladeshi mobile number has 11"),
        ("0", "That number has 1 digit;"),
        ("+44 7911 123456", "not a Bangladeshi number (it starts with +44)"),
        ("029123456", "landline"),
        ("abc", "no letters"),
        ("+880171234567", "too short"),
    ],
)
def test_the_booking_says_what_is_wrong_with_a_typed_number(typed: str, says: str) -> None:
    outcome = send(session_at(booking.PHONE, "en"), Text(typed))
    assert outcome.session.step == booking.PHONE and "phone" not in outcome.session.data
    hint = messages(outcome)[0].text
    assert says in hint
    assert OLD_HINT not in hint


def test_a_shared_foreign_contact_is_refused_as_foreign() -> None:
    outcome = send(session_at(booking.PHONE, "en"), ContactShared("+447911123456", USER))
    assert "(it starts with +44)" in messages(outcome)[0].text


@settings(max_examples=1000, deadline=None, database=None)
@given(st.text(max_size=60) | st.text("0123456789০১২৩৪৫৬৭৮৯ +-()", max_size=20))
def test_any_text_is_a_live_mobile_or_a_refusal_said_in_both_languages(text: str) -> None:
    checked = check_bd_mobile(text)
    if isinstance(checked, str):
        assert re.fullmatch(r"\+8801[3-9]\d{8}", checked)
        return
    assert isinstance(checked, Refusal)
    for lang in ("bn", "en"):
        said = refusal_text(translator(lang), checked)
        assert said and "{" not in said
