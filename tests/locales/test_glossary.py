"""Both catalogs use one word per concept: none of the words locales/GLOSSARY.md rules out."""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "locales" / "GLOSSARY.md"
LANGUAGES = ("bn", "en")
#: A ruled-out word is found where a word starts: not after a Bengali or Latin letter or sign.
WORD_START = r"(?<![\u0980-\u09ff\u200c\u200dA-Za-z])"


@dataclass(frozen=True)
class Rule:
    """A concept's chosen word and one word that must not stand for it in ``lang``."""

    lang: str
    chosen: str
    banned: str


def _table(heading: str) -> list[list[str]]:
    """Return the body rows of the first table under ``## heading`` as lists of cells."""
    lines = GLOSSARY.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {heading}")
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[2:]  # the header and the --- line


def nfc(text: str) -> str:
    # য়, ড়, ঢ় come precomposed or as letter + nukta: compare one form (NFC decomposes them).
    return unicodedata.normalize("NFC", text)


def _terms(cell: str) -> list[str]:
    return [nfc(term) for term in re.findall(r"`([^`]+)`", cell)]


def rules() -> list[Rule]:
    found = []
    for english, bengali, not_bn, not_en, _note in _table("Words"):
        found += [Rule("bn", bengali, term) for term in _terms(not_bn)]
        found += [Rule("en", english, term) for term in _terms(not_en)]
    return found


def allowed() -> dict[str, list[str]]:
    phrases: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
    for lang, phrase, _why in _table("Allowed phrases"):
        phrases[lang] += _terms(phrase)
    return phrases


def pattern(term: str) -> re.Pattern[str]:
    return re.compile(WORD_START + re.escape(term), re.IGNORECASE)


def translations(lang: str) -> list[tuple[str, str]]:
    """Return (msgid, one msgstr) for every form of every translated message of ``lang``."""
    path = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    pairs = []
    for message in catalog:
        if not message.id:  # obsolete (#~) entries are not iterated
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(str(msgid), str(form)) for form in forms if form]
    return pairs


def offences(lang: str, texts: list[tuple[str, str]]) -> list[str]:
    """Return ``banned → chosen: text`` for every ruled-out word found in ``texts``."""
    checks = [(rule, pattern(rule.banned)) for rule in rules() if rule.lang == lang]
    found = []
    for msgid, text in texts:
        cleaned = nfc(text)
        for phrase in allowed()[lang]:
            cleaned = cleaned.replace(phrase, " ")
        found += [
            f"{rule.banned} → {rule.chosen}: {msgid!r}"
            for rule, check in checks
            if check.search(cleaned)
        ]
    return found


def test_glossary_has_rules_for_both_languages() -> None:
    assert {rule.lang for rule in rules()} == set(LANGUAGES)
    banned = {rule.banned for rule in rules()}
    assert {"মিস্ত্রি", "বাটন", "Mistri", "প্রাইভেসি", "নীতিমালা", "mistri"} <= banned


def test_a_banned_word_is_found_with_its_endings_but_not_inside_another_word() -> None:
    texts = [
        ("a", "মিস্ত্রিদের জন্য"),
        ("b", "বাটনটি চাপুন"),
        ("c", "রাজমিস্ত্রি ও পাইপ মিস্ত্রি"),
        ("d", "মিস্ত্রি সার্ভিসেসে স্বাগতম"),
        ("e", "Mistri Services-এ স্বাগতম"),
        ("f", "অবস্থা: বাতিল"),
        ("g", "বাসা বদলের কাজ"),
        ("h", "লোকেশন শে\u09dfার করুন"),  # the precomposed য়
    ]
    assert [line.rsplit(": ", 1)[1] for line in offences("bn", texts)] == [
        "'a'",
        "'b'",
        "'e'",
        "'h'",
    ]
    english = [("x", "Thank you for using Mistri Services."), ("y", "a Mistri will come")]
    assert offences("en", english) == ["mistri → technician: 'y'"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_uses_only_the_glossary_words(lang: str) -> None:
    assert offences(lang, translations(lang)) == [], f"see locales/GLOSSARY.md ({lang})"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_chat_summary_of_the_policy_uses_only_the_glossary_words(lang: str) -> None:
    # The summary is ours; the policy itself is the company's text, kept as they wrote it.
    summary = ROOT / "locales" / "privacy" / f"summary.{lang}.txt"
    text = summary.read_text(encoding="utf-8")
    lines = [(f"summary line {n}", line) for n, line in enumerate(text.splitlines())]
    assert offences(lang, lines) == [], f"see locales/GLOSSARY.md ({summary.name})"
