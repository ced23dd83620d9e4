"""Bengali digits: shown in Bengali texts, accepted anywhere a number is typed."""

from __future__ import annotations

_LATIN = "0123456789"
_BENGALI = "০১২৩৪৫৬৭৮৯"
_TO_BENGALI = str.maketrans(_LATIN, _BENGALI)
_TO_LATIN = str.maketrans(_BENGALI, _LATIN)


def to_bengali_digits(text: str) -> str:
    """Return ``text`` with every Latin digit written as a Bengali digit."""
    return text.translate(_TO_BENGALI)


def to_latin_digits(text: str) -> str:
    """Return ``text`` with every Bengali digit written as a Latin digit."""
    return text.translate(_TO_LATIN)


def localize_digits(text: str, lang: str) -> str:
    """Write the digits of ``text`` the way readers of ``lang`` expect them."""
    return to_bengali_digits(text) if lang == "bn" else text
