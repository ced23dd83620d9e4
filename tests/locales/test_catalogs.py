"""The Bengali catalog is complete and every translation keeps what the code relies on."""

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from conversations.i18n import translator

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?(?:b|i)>")


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


BENGALI = read(LOCALES / "bn" / "LC_MESSAGES" / "messages.po", "bn")
TEMPLATE = read(LOCALES / "messages.pot")


def texts(value: object) -> list[str]:
    """Return the one or more strings (singular and plural forms) of an id or msgstr."""
    if isinstance(value, (tuple, list)):
        return [str(item) for item in value]
    return [str(value)] if value else []


def messages() -> list[Message]:
    return [message for message in BENGALI if message.id]


def message_ids() -> list[str]:
    return [texts(message.id)[0] for message in messages()]


def test_catalog_is_not_empty() -> None:
    assert len(messages()) > 100


def test_every_bengali_message_is_translated() -> None:
    untranslated = [
        texts(m.id)[0] for m in messages() if not texts(m.string) or not all(texts(m.string))
    ]
    assert untranslated == []


def test_no_bengali_message_is_fuzzy() -> None:
    assert [texts(m.id)[0] for m in messages() if m.fuzzy] == []


def test_header_names_the_language() -> None:
    assert str(BENGALI.locale) == "bn"
    assert BENGALI.plural_forms == "nplurals=2; plural=(n != 1);"


@pytest.mark.parametrize("message", messages(), ids=message_ids())
def test_translation_keeps_the_placeholders(message: Message) -> None:
    expected = {name for text in texts(message.id) for name in PLACEHOLDER.findall(text)}
    for translation in texts(message.string):
        assert set(PLACEHOLDER.findall(translation)) == expected


@pytest.mark.parametrize("message", messages(), ids=message_ids())
def test_translation_keeps_the_html_tags(message: Message) -> None:
    expected = Counter(TAG.findall(texts(message.id)[0]))
    for translation in texts(message.string):
        assert Counter(TAG.findall(translation)) == expected


def test_template_has_no_message_missing_from_the_bengali_catalog() -> None:
    bengali = {texts(m.id)[0]: m for m in messages()}
    missing = sorted(
        texts(m.id)[0]
        for m in TEMPLATE
        if m.id
        and (
            texts(m.id)[0] not in bengali
            or bengali[texts(m.id)[0]].fuzzy
            or not all(texts(bengali[texts(m.id)[0]].string) or [""])
        )
    )
    assert missing == [], "translate these in locales/bn/LC_MESSAGES/messages.po"


def test_bengali_translator_uses_the_catalog() -> None:
    assert translator("bn")._("Plumbing") == "পাইপ মিস্ত্রি"
