"""Bangladeshi mobile numbers: parse what people type, store E.164, show masked."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from conversations.digits import to_latin_digits

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u200b-\u200d]+")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
#: Longest input worth handing to the parser; anything longer is not a phone number.
_MAX_INPUT = 40
_LIVE_MOBILE = re.compile(r"\+8801[3-9]\d{8}")


def parse_bd_mobile(raw: str) -> str | None:
    """Return the E.164 form of a Bangladeshi mobile number, or None if ``raw`` is not one.

    Accepts ``01712345678``, ``+8801712345678``, ``8801712345678``, ``008801712345678``, with
    spaces or dashes, in Latin or Bengali digits.
    """
    if len(raw) > _MAX_INPUT:
        return None
    compact = _SEPARATORS.sub("", to_latin_digits(raw.strip()))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("880"):
        # Country code typed without the plus: the parser would read it as a national number.
        compact = "+" + compact
    if not re.fullmatch(r"\+?\d{6,15}", compact):
        return None
    try:
        number = phonenumbers.parse(compact, "BD")
    except NumberParseException:
        return None
    if number.country_code != 880 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Operators in service today use 013-019; older ranges (011 Citycell) are dead.
    if not _LIVE_MOBILE.fullmatch(e164):
        return None
    return e164


def national_form(e164: str) -> str:
    """Return the number as Bangladeshis write it (``01712345678``)."""
    return "0" + e164.removeprefix("+880")


def mask(e164: str) -> str:
    """Return a masked national form that is safe to show back (``017••••5678``)."""
    national = national_form(e164)
    return national[:3] + "••••" + national[-4:]
