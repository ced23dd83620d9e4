"""Bangladeshi mobile numbers: parse what people type, store E.164, show masked.

:func:`check_bd_mobile` says what is wrong with a refused number (too short, no operator's
prefix, a foreign country, letters), so the customer can fix that one thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from conversations.digits import localize_digits, to_latin_digits
from conversations.i18n import Translator

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u200b-\u200d]+")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
#: Longest input worth handing to the parser; anything longer is not a phone number.
_MAX_INPUT = 40
#: A national mobile number: 0, then 1, then the operator digit, then eight digits.
NATIONAL_LENGTH = 11
#: Operators in service today use 013-019; older ranges (010, 011 Citycell, 012) are dead.
_LIVE_PREFIX = re.compile(r"01[3-9]")
_LIVE_MOBILE = re.compile(r"\+8801[3-9]\d{8}")


class Fault(StrEnum):
    """What makes a typed number unusable as a Bangladeshi mobile number."""

    EMPTY = "empty"
    LETTERS = "letters"
    SIGNS = "signs"
    FOREIGN = "foreign"
    LANDLINE = "landline"
    NO_OPERATOR = "no_operator"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a number was refused, with what the message about it names."""

    fault: Fault
    #: How many digits the number has as typed nationally (0 when typed with +880).
    digits: int = 0
    #: The first three digits of the national form (``012``) of a number no operator uses.
    prefix: str = ""
    #: The calling code of a foreign number (0 when it cannot be told).
    country: int = 0


def check_bd_mobile(raw: str) -> str | Refusal:
    """Return the E.164 form of a Bangladeshi mobile number, or why ``raw`` is not one.

    Accepts ``01712345678``, ``1712345678``, ``+8801712345678``, ``8801712345678``,
    ``008801712345678``, with spaces or dashes, in Latin or Bengali digits.
    """
    if len(raw) > _MAX_INPUT:
        return Refusal(Fault.TOO_LONG)
    compact = _SEPARATORS.sub("", to_latin_digits(raw.strip()))
    if not compact.lstrip("+"):
        return Refusal(Fault.EMPTY)
    if not re.fullmatch(r"\+?\d+", compact):
        letters = any(char.isalpha() for char in compact)
        return Refusal(Fault.LETTERS if letters else Fault.SIGNS)
    international = compact.startswith(("+", "00", "880"))
    if international:
        # "+880…", "00880…" or "880…": the country code typed without the plus is still one.
        body = compact.removeprefix("+") if compact.startswith("+") else compact
        body = body[2:] if body.startswith("00") else body
        if not body.startswith("880"):
            return Refusal(Fault.FOREIGN, country=_calling_code(body))
        rest = body[3:]
        national = rest if rest.startswith("0") else "0" + rest
    else:
        national = compact if compact.startswith("0") else "0" + compact
    typed = 0 if international else len(compact)
    # Without its 0, "123" is too short rather than a dead "012" range the customer never typed.
    prefix_first = international or compact.startswith("0") or len(national) >= NATIONAL_LENGTH
    return _check_national(national, typed, prefix_first)


def _check_national(national: str, typed: int, prefix_first: bool) -> str | Refusal:
    # The prefix first: a landline or a dead range needs another number, not more digits.
    if prefix_first and len(national) >= 2 and national[1] != "1" and _is_landline(national):
        return Refusal(Fault.LANDLINE)
    if prefix_first and len(national) >= 3 and not _LIVE_PREFIX.fullmatch(national[:3]):
        return Refusal(Fault.NO_OPERATOR, prefix=national[:3])
    if len(national) < NATIONAL_LENGTH:
        return Refusal(Fault.TOO_SHORT, digits=typed)
    if len(national) > NATIONAL_LENGTH:
        return Refusal(Fault.TOO_LONG, digits=typed)
    try:
        number = phonenumbers.parse("+880" + national[1:])
    except NumberParseException:  # pragma: no cover - eleven digits always parse
        return Refusal(Fault.NO_OPERATOR, prefix=national[:3])
    valid = phonenumbers.is_valid_number(number)
    if not valid or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return Refusal(Fault.NO_OPERATOR, prefix=national[:3])
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _LIVE_MOBILE.fullmatch(e164):  # pragma: no cover - the prefix was checked above
        return Refusal(Fault.NO_OPERATOR, prefix=national[:3])
    return e164


def _calling_code(digits: str) -> int:
    # The library knows which calling codes exist: "+44 7911…" is British, "+0…" is nothing.
    try:
        return phonenumbers.parse("+" + digits).country_code or 0
    except NumberParseException:
        return 0


def _is_landline(national: str) -> bool:
    try:
        number = phonenumbers.parse(national, "BD")
    except NumberParseException:
        return False
    fixed = phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE
    return fixed and phonenumbers.is_valid_number(number)


def parse_bd_mobile(raw: str) -> str | None:
    """Return the E.164 form of a Bangladeshi mobile number, or None if ``raw`` is not one."""
    checked = check_bd_mobile(raw)
    return checked if isinstance(checked, str) else None


def refusal_text(t: Translator, refusal: Refusal) -> str:
    """Say what is wrong with a refused number and how a right one looks."""
    fault = refusal.fault
    if fault is Fault.EMPTY:
        text = t._("Please type your mobile number, e.g. 01712345678.")
    elif fault is Fault.LETTERS:
        text = t._("A phone number has no letters. Please type just the digits, e.g. 01712345678.")
    elif fault is Fault.SIGNS:
        text = t._("Please type just the digits of your mobile number, e.g. 01712345678.")
    elif fault is Fault.FOREIGN and refusal.country:
        text = t._(
            "That is not a Bangladeshi number (it starts with +{code}). Please send a"
            " Bangladeshi mobile number, e.g. 01712345678."
        ).format(code=refusal.country)
    elif fault is Fault.FOREIGN:
        text = t._(
            "That is not a Bangladeshi number. Please send a Bangladeshi mobile number,"
            " e.g. 01712345678."
        )
    elif fault is Fault.LANDLINE:
        text = t._(
            "That looks like a landline number. Please send a mobile number: it starts with"
            " 013 to 019."
        )
    elif fault is Fault.NO_OPERATOR:
        text = t._(
            "No mobile operator uses numbers starting with {prefix}: Bangladeshi mobile"
            " numbers start with 013 to 019."
        ).format(prefix=refusal.prefix)
    elif refusal.digits:
        text = t.ngettext(
            "That number has {n} digit; a Bangladeshi mobile number has 11, e.g. 01712345678.",
            "That number has {n} digits; a Bangladeshi mobile number has 11, e.g. 01712345678.",
            refusal.digits,
        ).format(n=refusal.digits)
    elif fault is Fault.TOO_SHORT:
        text = t._(
            "That number is too short: a Bangladeshi mobile number is +880 and 10 digits,"
            " e.g. +8801712345678."
        )
    else:
        text = t._(
            "That number is too long: a Bangladeshi mobile number is +880 and 10 digits,"
            " e.g. +8801712345678."
        )
    return localize_digits(text, t.lang)


def national_form(e164: str) -> str:
    """Return the number as Bangladeshis write it (``01712345678``)."""
    return "0" + e164.removeprefix("+880")


def mask(e164: str) -> str:
    """Return a masked national form that is safe to show back (``017••••5678``)."""
    national = national_form(e164)
    return national[:3] + "••••" + national[-4:]
