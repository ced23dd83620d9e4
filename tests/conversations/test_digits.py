"""Bengali and Latin digits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.digits import localize_digits, to_bengali_digits, to_latin_digits

LATIN = "0123456789"
BENGALI = "০১২৩৪৫৬৭৮৯"


def test_each_digit_maps_to_its_bengali_digit() -> None:
    assert to_bengali_digits(LATIN) == BENGALI
    assert to_latin_digits(BENGALI) == LATIN
    assert to_bengali_digits("Step 1 of 7, 09:30") == "Step ১ of ৭, ০৯:৩০"


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(st.characters(exclude_characters=BENGALI)))
def test_latin_to_bengali_round_trips(text: str) -> None:
    bengali = to_bengali_digits(text)
    assert not any(char in LATIN for char in bengali)
    assert len(bengali) == len(text)
    assert to_latin_digits(bengali) == text


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(st.characters(exclude_characters=LATIN)))
def test_bengali_to_latin_round_trips(text: str) -> None:
    latin = to_latin_digits(text)
    assert not any(char in BENGALI for char in latin)
    assert to_bengali_digits(latin) == text


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(min_value=0))
def test_numbers_survive_a_round_trip(number: int) -> None:
    assert int(to_latin_digits(to_bengali_digits(str(number)))) == number


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_localize_digits_only_touches_bengali_text(text: str) -> None:
    assert localize_digits(text, "en") == text
    assert localize_digits(text, "bn") == to_bengali_digits(text)
