"""Bangladeshi mobile numbers: every way people type them, and everything else."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.digits import to_bengali_digits
from conversations.phone import mask, national_form, parse_bd_mobile

LATIN_AND_BENGALI = "0123456789০১২৩৪৫৬৭৮৯"
SEPARATORS = [" ", "-", "  ", " - ", ".", "(", ")", "\u00a0", "\u200b"]

#: A live mobile number as written nationally: 01, an operator digit 3-9, eight digits.
mobiles = st.builds(
    lambda operator, rest: f"01{operator}{rest}",
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=8, max_size=8),
)


@st.composite
def typed_forms(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile number as someone might type it, and its E.164 form."""
    national = draw(mobiles)
    e164 = "+880" + national[1:]
    prefix = draw(st.sampled_from(["", "+880", "880", "00880", "+88", "88", "0088"]))
    # "+88" / "88" / "0088" followed by the national 0 is how most people write it.
    body = national if prefix in ("", "+88", "88", "0088") else national[1:]
    text = prefix + body
    # Up to four separators anywhere inside (the parser refuses over 40 characters).
    gaps = draw(st.sets(st.integers(1, len(text) - 1), max_size=4))
    typed = "".join(
        (draw(st.sampled_from(SEPARATORS)) if index in gaps else "") + char
        for index, char in enumerate(text)
    )
    if draw(st.booleans()):
        typed = to_bengali_digits(typed)
    if draw(st.booleans()):
        typed = f"  {typed}\n"
    return typed, e164


@settings(max_examples=500, deadline=None, database=None)
@given(typed_forms())
def test_every_accepted_form_parses_to_the_same_e164(case: tuple[str, str]) -> None:
    typed, e164 = case
    assert parse_bd_mobile(typed) == e164


@settings(max_examples=200, deadline=None, database=None)
@given(mobiles)
def test_the_canonical_forms_agree(national: str) -> None:
    e164 = "+880" + national[1:]
    forms = [
        national,
        e164,
        e164[1:],
        "00" + e164[1:],
        to_bengali_digits(national),
        f"{national[:5]}-{national[5:]}",
        f"+880 {national[1:5]} {national[5:]}",
    ]
    assert {parse_bd_mobile(form) for form in forms} == {e164}
    assert national_form(e164) == national
    assert mask(e164) == national[:3] + "••••" + national[-4:]


def _expected(text: str) -> str | None:
    """What the parser must answer for a string of digits, separators and '+' signs."""
    compact = re.sub(r"[\s\-().\u00a0\u200b-\u200d]+", "", text)
    compact = compact.translate(str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789"))
    match = re.fullmatch(r"(?:(?:\+|00)?880)?0?(1[3-9]\d{8})", compact)
    return "+880" + match.group(1) if match else None


@settings(max_examples=1000, deadline=None, database=None)
@given(st.text(alphabet=LATIN_AND_BENGALI + " -+", max_size=20))
def test_digit_strings_are_accepted_exactly_when_they_are_a_live_mobile(text: str) -> None:
    assert parse_bd_mobile(text) == _expected(text)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.text(max_size=60))
def test_arbitrary_text_never_raises_and_only_yields_live_mobiles(text: str) -> None:
    result = parse_bd_mobile(text)
    if result is not None:
        assert re.fullmatch(r"\+8801[3-9]\d{8}", result)


@settings(max_examples=300, deadline=None, database=None)
@given(
    prefix=st.sampled_from(["010", "011", "012", "02", "09", "1"]),
    rest=st.text("0123456789", min_size=8, max_size=8),
)
def test_dead_ranges_and_landlines_are_refused(prefix: str, rest: str) -> None:
    assert parse_bd_mobile(prefix + rest) is None


@settings(max_examples=300, deadline=None, database=None)
@given(national=mobiles, extra=st.text("0123456789", min_size=1, max_size=4))
def test_too_many_or_too_few_digits_are_refused(national: str, extra: str) -> None:
    assert parse_bd_mobile(national + extra) is None
    assert parse_bd_mobile(national[: -len(extra)]) is None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0",
        "+",
        "+880",
        "tel:01712345678",
        "01712345678x",
        "01712345678 ext 2",
        "+1 202 555 0123",
        "+44 7911 123456",
        "০১৭১২৩৪৫৬৭",
        "0" * 41,
        "0171234567" + " " * 40 + "8",
        "<script>01712345678</script>",
    ],
)
def test_things_that_are_not_bangladeshi_mobiles(typed: str) -> None:
    assert parse_bd_mobile(typed) is None


def test_mask_hides_the_middle_digits() -> None:
    assert mask("+8801712345678") == "017••••5678"
